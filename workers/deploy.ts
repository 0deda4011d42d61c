import { runPool } from './run-pool';

/** Registry writes and deployments: small and I/O-bound. */
void runPool('deploy');
