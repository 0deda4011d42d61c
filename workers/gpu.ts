import { runPool } from './run-pool';

/** Training: one slot per device (PIPEWRIGHT_GPU_SLOTS), so epochs never share an accelerator. */
void runPool('gpu');
