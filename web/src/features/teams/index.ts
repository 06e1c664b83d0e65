export { default } from './Teams';
