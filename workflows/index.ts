/** Every workflow the orchestrator pool runs. */
export { trainingPipeline } from './training-pipeline';
export { trainModel } from './train/train-model';
