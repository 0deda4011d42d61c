/** Every workflow the orchestrator pool runs. */
export { trainingPipeline } from './training-pipeline';
export { trainModel } from './train/train-model';
export { hyperparameterSearch } from './tune/hyperparameter-search';
export { crossValidate } from './evaluate/cross-validate';
export { monitorModel } from './release/monitor-model';
export { rollout } from './release/rollout';
export { federatedTraining } from './federated/federated-training';
