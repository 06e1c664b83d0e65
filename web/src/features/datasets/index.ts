export { default } from './Datasets';
