import os from 'node:os';
import { createCpuActivities } from '../activities/cpu';
import { runPool } from './create-worker';

/** Ingest, validation and transforms: one slot per core, the work itself in worker threads. */
void runPool({ pool: 'cpu', activities: createCpuActivities, maxConcurrentActivities: Number(process.env.PIPEWRIGHT_CPU_SLOTS) || os.cpus().length });
