export { default } from './Usage';
