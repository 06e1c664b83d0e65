export { default } from './ScoreConfigs';
