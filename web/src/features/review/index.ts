export { default } from './Review';
