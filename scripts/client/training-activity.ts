import type { WorkflowClient } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { TrainShardsHeartbeat } from '../../contracts';

/** What the training activities running now have done so far, from their last heartbeats. */
export interface TrainingInFlight {
  /** Activities training now (one per data-parallel worker). */
  workers: number;
  /** Examples they have trained on in this round so far. */
  samples: number;
}

/**
 * Reads the running trainShards activities of a run's training child (`<runId>-train`) and sums
 * the examples in their last heartbeats: the step-level progress between the round reports the
 * child sends its pipeline. Undefined when nothing is training.
 */
export async function trainingInFlight(client: WorkflowClient, runId: string): Promise<TrainingInFlight | undefined> {
  const described = await client.getHandle(`${runId}-train`).describe();
  const running = (described.raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'trainShards');
  if (running.length === 0) return undefined;
  const samples = running.reduce((n, activity) => n + (trainingHeartbeat(activity)?.progress ?? 0), 0);
  return { workers: running.length, samples };
}

/** A pending training activity's last heartbeat details, if it has sent any (JSON payloads). */
export function trainingHeartbeat(activity: temporal.api.workflow.v1.IPendingActivityInfo): TrainShardsHeartbeat | undefined {
  const data = activity.heartbeatDetails?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as TrainShardsHeartbeat;
  } catch {
    return undefined; // details of another shape (an older worker)
  }
}

/** "1.23M samples" style, for progress lines. */
export function formatSamples(samples: number): string {
  if (samples >= 1e6) return `${(samples / 1e6).toFixed(2)}M`;
  if (samples >= 1e3) return `${(samples / 1e3).toFixed(0)}k`;
  return String(samples);
}
