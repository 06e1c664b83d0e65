export { default } from './Knowledge';
