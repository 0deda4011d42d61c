import { ApplicationFailure, isCancellation, log, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  epochFinishedSignal,
  isPipelineInputFailure,
  MODEL,
  PIPELINE_INPUT_ERROR,
  progressQuery,
  rootCauseMessage,
  STAGE,
  STAGES,
  type PipelineProgress,
  type StageName,
  type StageProgress,
} from '../../contracts';

/** What a stage's body may report while it runs. */
export interface StageHandle {
  /** The number of units, once the stage knows it (e.g. partitions after planning). */
  setTotal(total: number): void;
  /** One unit done. */
  tick(): void;
  /** One unit done by reusing an earlier run's result (the step cache); `what` names it in the Web UI. */
  reused(what: string, fromRun: string): void;
}

/** How a run failed (or was cancelled) in which stage, and what the workflow throws for it. */
export interface RunFailure {
  status: 'failed' | 'cancelled';
  stage: StageName;
  message: string;
  failure: unknown;
}

/**
 * The bookkeeping around the DAG: the `progress` query, each stage's status, units and seconds,
 * the `PipewrightStage` search attribute, epoch reports from the training child, and how a failure
 * is shown. Stage timing uses workflow time, so it replays identically.
 */
export class StageTracker {
  private readonly progress: PipelineProgress;
  private current: StageName = STAGES[0];
  /** Steps taken from the step cache, listed in the Web UI's current details. */
  private readonly reusedSteps: string[] = [];

  constructor(pipeline: string, model: string) {
    this.progress = {
      pipeline,
      model,
      stage: STAGES[0],
      stages: Object.fromEntries(STAGES.map((s) => [s, { status: 'pending', done: 0, total: 1, unit: 'step', seconds: 0 }])) as PipelineProgress['stages'],
    };
    setHandler(progressQuery, () => this.progress);
    setHandler(epochFinishedSignal, (report) => {
      const { epoch, loss, backend, round, rounds, workers } = report;
      // Keyed by epoch (and round), so a repeated report changes nothing. Reports from before
      // data-parallel rounds have no round: each is an epoch's end.
      const losses = [...(this.progress.trainLoss ?? [])];
      losses[epoch] = loss;
      this.update({ trainLoss: losses, backend });
      if (round !== undefined && rounds !== undefined) this.update({ training: { epoch, round, rounds, workers: workers ?? 1 } });
      if (report.validationLoss !== undefined) {
        const validation = [...(this.progress.validationLoss ?? [])];
        validation[epoch] = report.validationLoss;
        this.update({ validationLoss: validation });
      }
      if (report.validationMetric) this.update({ validationMetric: report.validationMetric });
      const epochEnded = round === undefined || round === rounds;
      const train = this.progress.stages.train;
      if (epochEnded) train.done = Math.max(train.done, Math.min(epoch + 1, train.total));
    });
    upsertSearchAttributes([{ key: MODEL, value: model }]);
  }

  /** Runs one stage's body: marks it running (progress and search attribute), then done with its time. */
  async stage<T>(name: StageName, total: number, unit: string, body: (stage: StageHandle) => Promise<T>): Promise<T> {
    const state: StageProgress = { status: 'running', done: 0, total, unit, seconds: 0 };
    this.progress.stage = name;
    this.progress.stages[name] = state;
    this.current = name;
    const started = Date.now();
    upsertSearchAttributes([{ key: STAGE, value: name }]);
    const result = await body({
      setTotal: (n) => (state.total = n),
      tick: () => state.done++,
      reused: (what, fromRun) => {
        state.done++;
        state.cached = (state.cached ?? 0) + 1;
        this.reusedSteps.push(`- ${what}, from run \`${fromRun}\``);
        setCurrentDetails(`**Reused from the step cache** (same inputs, same code):\n${this.reusedSteps.join('\n')}`);
      },
    });
    Object.assign(state, { status: 'done', done: state.total, seconds: (Date.now() - started) / 1000 });
    log.info(`stage ${name} done`, { seconds: state.seconds });
    return result;
  }

  /** Marks a stage that will not run in this run (e.g. deploy of a model that was not blessed), with the reason. */
  skip(name: StageName, note: string): void {
    this.progress.stages[name] = { ...this.progress.stages[name], status: 'skipped', note };
    log.info(`stage ${name} skipped`, { note });
  }

  /** Adds what the run has learnt (rows, metrics, model version, ...) to its progress. */
  update(fields: Partial<Omit<PipelineProgress, 'pipeline' | 'model' | 'stage' | 'stages'>>): void {
    Object.assign(this.progress, fields);
  }

  stageSeconds(): Record<StageName, number> {
    return Object.fromEntries(STAGES.map((s) => [s, this.progress.stages[s].seconds])) as Record<StageName, number>;
  }

  finish(): void {
    this.progress.stage = 'finished';
    upsertSearchAttributes([{ key: STAGE, value: 'finished' }]);
  }

  /**
   * Marks the running stage failed, or cancelled when the run was cancelled. A user's mistake
   * becomes the workflow's own non-retryable failure with the stage named, so the Web UI shows the
   * message at the top of the run; anything else (a cancellation too) is rethrown as it is.
   */
  fail(err: unknown): RunFailure {
    const stage = this.current;
    const status = isCancellation(err) ? 'cancelled' : 'failed';
    const message = status === 'cancelled' ? `cancelled during ${stage}` : rootCauseMessage(err);
    this.progress.stages[stage].status = status;
    this.progress.stage = status;
    this.progress.error = message;
    upsertSearchAttributes([{ key: STAGE, value: status }]);
    const failure = isPipelineInputFailure(err) ? ApplicationFailure.nonRetryable(`${stage}: ${message}`, PIPELINE_INPUT_ERROR) : err;
    return { status, stage, message, failure };
  }
}
