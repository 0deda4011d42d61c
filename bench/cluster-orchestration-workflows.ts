import { proxyActivities } from '@temporalio/workflow';

/** The two round trips bench/cluster-orchestration.ts times: a workflow that returns at once, and one that runs one trivial activity. */
const { benchNoop } = proxyActivities<{ benchNoop(): Promise<number> }>({ startToCloseTimeout: '30s' });

export async function benchEmpty(): Promise<number> {
  return 1;
}

export async function benchOneActivity(): Promise<number> {
  return benchNoop();
}
