export { default } from './Runs';
