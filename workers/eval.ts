import os from 'node:os';
import { createEvalActivities } from '../activities/eval';
import { runPool } from './create-worker';

/** Evaluation: one slot per core. */
void runPool({ pool: 'eval', activities: createEvalActivities, maxConcurrentActivities: Number(process.env.PIPEWRIGHT_EVAL_SLOTS) || os.cpus().length });
