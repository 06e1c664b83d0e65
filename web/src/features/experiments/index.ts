export { default } from './Experiments';
