/**
 * The monitor workflow on a local dev server with fake activities: no breach starts nothing; a
 * breach sets PipewrightAlert and the memo, records the alert and starts the retraining pipeline
 * as `<model>-retrain`, which outlives the monitor; a second breach while it runs starts no other.
 * The retraining child is the real trainingPipeline on the fakes, held at its first activity.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ALERT, MODEL, type CheckServingDriftInput, type MonitorModelInput, type MonitorReport, type RecordAlertInput } from '../../contracts';
import type { monitorModel } from '../../workflows';
import { fakeActivities, flightsSpec, gate, sameQueueForEveryPool, useWorkflowEnvironment, uniqueName } from './helpers';

const suite = useWorkflowEnvironment();

function report(model: string, breach: boolean): MonitorReport {
  const value = breach ? 0.31 : 0.02;
  return {
    model,
    version: 4,
    trainingRunId: `${model}-run-1`,
    window: { since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T01:00:00.000Z', minutes: 60 },
    drift: {
      status: breach ? 'drift' : 'ok',
      rows: 800,
      minRows: 500,
      columns: [{ column: 'distance', kind: 'number', measure: 'jensen_shannon', value, threshold: 0.1, breached: breach, detail: '20 bins' }],
    },
    live: { status: 'not_enough_labels', metric: 'auc', higherIsBetter: true, labels: 0, minLabels: 200, maxDrop: 0.05 },
    verdict: breach ? 'drift' : 'ok',
    reason: breach ? 'drift: distance JS 0.31 > 0.1' : 'no drift in 1 columns over 800 rows',
  };
}

/** A Worker with the workflows, the pipeline fakes (recordRunStarted held by `hold`) and monitor fakes answering `breach`. */
async function withMonitorWorker<T>(
  breach: () => boolean,
  hold: Promise<void>,
  body: (ctx: { taskQueue: string; checks: CheckServingDriftInput[]; alerts: RecordAlertInput[]; runsStarted: () => number }) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueName('monitor');
  const checks: CheckServingDriftInput[] = [];
  const alerts: RecordAlertInput[] = [];
  const { activities, calls } = fakeActivities({ around: { recordRunStarted: async (_call, next) => (await hold, next()) } });
  const monitorActivities = {
    async checkServingDrift(input: CheckServingDriftInput): Promise<MonitorReport> {
      checks.push(input);
      return report(input.monitor.model, breach());
    },
    async recordAlert(input: RecordAlertInput): Promise<{ id: number }> {
      alerts.push(input);
      return { id: alerts.length };
    },
  };
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    namespace: suite.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: suite.bundle,
    activities: { ...activities, ...monitorActivities },
  });
  const runsStarted = (): number => calls.filter((c) => c.name === 'recordRunStarted').length;
  return worker.runUntil(() => body({ taskQueue, checks, alerts, runsStarted }));
}

/** Model names are identifiers: a unique one per test, so each has its own `<model>-retrain`. */
const modelName = (label: string): string => uniqueName(label).replace(/-/g, '_');

function monitorInput(model: string, taskQueue: string): MonitorModelInput {
  return {
    monitor: { model, windowMinutes: 60, minRows: 500, thresholds: { categorical: 0.1, numeric: 0.1, numericBins: 20 }, minLabels: 200, maxDrop: 0.05 },
    retrain: { spec: flightsSpec({ epochs: 1, name: model }), queues: sameQueueForEveryPool(taskQueue) },
    until: '2026-01-01T01:00:00.000Z',
  };
}

const startMonitor = (taskQueue: string, input: MonitorModelInput, id: string) =>
  suite.env.client.workflow.start<typeof monitorModel>('monitorModel', { taskQueue, workflowId: id, args: [input] });

describe('monitorModel (fake activities, local dev server)', () => {
  test('no breach: nothing recorded, nothing started, the check in the memo', async () => {
    const model = modelName('calm');
    const held = gate();
    await withMonitorWorker(
      () => false,
      held.promise,
      async ({ taskQueue, checks, alerts }) => {
        const handle = await startMonitor(taskQueue, monitorInput(model, taskQueue), `${model}-monitor-1`);
        const result = await handle.result();
        expect(result.retrain).toEqual({ status: 'not_needed' });
        expect(result.alert).toBeUndefined();
        expect(result.report.verdict).toBe('ok');
        expect(result.summary).toBe(`${model} v4: no drift in 1 columns over 800 rows`);
        expect(checks).toEqual([{ monitor: monitorInput(model, taskQueue).monitor, until: '2026-01-01T01:00:00.000Z' }]);
        expect(alerts).toEqual([]);
        const description = await handle.describe();
        expect(description.memo).toEqual({ check: 'no drift in 1 columns over 800 rows' });
        expect(description.typedSearchAttributes.get(ALERT)).toBeUndefined();
        expect(description.typedSearchAttributes.get(MODEL)).toBe(model);
        await expect(suite.env.client.workflow.getHandle(`${model}-retrain`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      },
    );
    held.open();
  });

  test('breach: alert attribute, memo and row; retraining started as <model>-retrain and outlives the monitor; a second breach starts no other', async () => {
    const model = modelName('drifty');
    const held = gate();
    await withMonitorWorker(
      () => true,
      held.promise,
      async ({ taskQueue, alerts, runsStarted }) => {
        const first = await startMonitor(taskQueue, monitorInput(model, taskQueue), `${model}-monitor-1`);
        const result = await first.result();
        expect(result.report.verdict).toBe('drift');
        expect(result.retrain).toMatchObject({ status: 'started', workflowId: `${model}-retrain` });
        expect(result.alert).toEqual({ id: 1, kind: 'drift', reason: 'drift: distance JS 0.31 > 0.1' });
        expect(result.summary).toBe(`${model} v4: drift: distance JS 0.31 > 0.1; started retraining ${model}-retrain`);
        expect(alerts).toEqual([
          {
            model,
            version: 4,
            kind: 'drift',
            reason: 'drift: distance JS 0.31 > 0.1',
            details: report(model, true),
            monitorWorkflowId: `${model}-monitor-1`,
            retrainWorkflowId: `${model}-retrain`,
          },
        ]);
        const description = await first.describe();
        expect(description.typedSearchAttributes.get(ALERT)).toBe('drift: distance JS 0.31 > 0.1');
        expect(description.memo).toEqual({ alert: 'drift: distance JS 0.31 > 0.1' });

        // The monitor has completed; its child goes on (ABANDON), held at its first activity.
        const retrain = suite.env.client.workflow.getHandle(`${model}-retrain`);
        const child = await retrain.describe();
        expect(child.status.name).toBe('RUNNING');
        expect(child.type).toBe('trainingPipeline');
        expect(child.runId).toBe((result.retrain as { runId: string }).runId);
        expect(child.parentExecution?.workflowId).toBe(`${model}-monitor-1`);

        // A second breach while it runs: alert recorded again, no second start.
        const second = await (await startMonitor(taskQueue, monitorInput(model, taskQueue), `${model}-monitor-2`)).result();
        expect(second.retrain).toEqual({ status: 'already_running', workflowId: `${model}-retrain` });
        expect(second.summary).toContain(`retraining ${model}-retrain is already running; not starting another`);
        expect(alerts.map((a) => [a.monitorWorkflowId, a.retrainWorkflowId])).toEqual([
          [`${model}-monitor-1`, `${model}-retrain`],
          [`${model}-monitor-2`, `${model}-retrain`],
        ]);
        expect((await retrain.describe()).runId).toBe(child.runId);

        // Released, the one retraining run completes: it is the real pipeline, on the fakes.
        held.open();
        const trained = await retrain.result();
        expect(trained.runId).toBe(`${model}-retrain`);
        expect(runsStarted()).toBe(1);
      },
    );
  });
});
