import type { WorkflowClient } from '@temporalio/client';
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
  let samples = 0;
  for (const activity of running) {
    const data = activity.heartbeatDetails?.payloads?.[0]?.data;
    if (!data) continue;
    try {
      samples += (JSON.parse(Buffer.from(data).toString('utf8')) as TrainShardsHeartbeat).progress ?? 0;
    } catch {
      // Details of another shape (an older worker): no figure from this one.
    }
  }
  return { workers: running.length, samples };
}

/** "1.23M samples" style, for progress lines. */
export function formatSamples(samples: number): string {
  if (samples >= 1e6) return `${(samples / 1e6).toFixed(2)}M`;
  if (samples >= 1e3) return `${(samples / 1e3).toFixed(0)}k`;
  return String(samples);
}
