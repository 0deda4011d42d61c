import { createDeployActivities } from '../activities/deploy';
import { runPool } from './create-worker';

/** Registry writes and deployments: small and I/O-bound. */
void runPool({ pool: 'deploy', activities: createDeployActivities, maxConcurrentActivities: 4 });
