import { createGpuActivities } from '../activities/gpu';
import { runPool } from './create-worker';

/** Training: one slot per device (PIPEWRIGHT_GPU_SLOTS), so epochs never share an accelerator. */
void runPool({ pool: 'gpu', activities: createGpuActivities, maxConcurrentActivities: Number(process.env.PIPEWRIGHT_GPU_SLOTS) || 1 });
