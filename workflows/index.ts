export { trainingPipeline } from './training-pipeline';
export { progressQuery } from './progress';
