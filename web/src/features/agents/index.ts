export { default } from './Agents';
