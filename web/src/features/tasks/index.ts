export { default } from './Tasks';
