import type { CheckServingDriftInput, MonitorReport, RecordAlertInput } from '../contracts';
import { recordAlert } from '../lib/monitoring/alerts';
import { checkServing } from '../lib/monitoring/serving-check';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** Monitoring: the serving window against training (drift, live metric), and alerts. Both idempotent. */
export function createMonitorActivities(deps: ActivityDeps) {
  return {
    /** The check's report: per-column drift figures, the live metric and the verdict; never rows. */
    async checkServingDrift(input: CheckServingDriftInput): Promise<MonitorReport> {
      return runActivity(() => checkServing(db(deps), { ...input.monitor, until: new Date(input.until) }));
    },

    /** Records (or, retried, re-records) the monitor run's alert; returns its id. */
    async recordAlert(input: RecordAlertInput): Promise<{ id: number }> {
      return runActivity(async () => ({ id: (await recordAlert(db(deps), input)).id }));
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
