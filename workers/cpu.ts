import { runPool } from './run-pool';

/** Ingest, validation and transforms: one slot per core (PIPEWRIGHT_CPU_SLOTS), the work itself in worker threads. */
void runPool('cpu');
