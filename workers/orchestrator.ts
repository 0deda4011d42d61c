import { runPool } from './run-pool';

/** Runs pipeline workflows and their children (no activities). */
void runPool('orchestrator');
