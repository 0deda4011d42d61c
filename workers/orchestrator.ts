import { runPool } from './create-worker';

/** Runs pipeline workflows (no activities). */
void runPool({ pool: 'orchestrator' });
