import { runPool } from './run-pool';

/** Evaluation: one slot per core (PIPEWRIGHT_EVAL_SLOTS). */
void runPool('eval');
