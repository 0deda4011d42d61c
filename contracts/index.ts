/**
 * The contracts: everything that crosses the workflow boundary, in one module. Workflows, activities,
 * workers and clients all take these names from here.
 */
export * from './cross-validation';
export * from './evaluation';
export * from './failures';
export * from './progress';
export * from './refs';
export * from './search-attributes';
export * from './stages';
export * from './task-queues';
export * from './tuning';
export * from './rollout';
export * from './monitoring';
export * from './federated';
