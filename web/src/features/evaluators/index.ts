export { default } from './Evaluators';
