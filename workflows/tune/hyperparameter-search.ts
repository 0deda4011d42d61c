import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  epochFinishedSignal,
  isPipelineInputFailure,
  MODEL,
  PIPELINE_INPUT_ERROR,
  rootCauseMessage,
  searchProgressQuery,
  type EpochFinished,
  type SearchInput,
  type SearchMetric,
  type SearchResult,
  type TrainModelResult,
  type TrialSummary,
} from '../../contracts';
import { trainModel } from '../train/train-model';
import { AshaScheduler } from './asha';
import { planTrials } from './sample-trials';
import { beats, formatParam, formatParams, higherIsBetter, returnedEpoch, trialModel } from './trial-model';

/** A trial as the search tracks it: its summary, and what only the workflow needs. */
interface Trial {
  summary: TrialSummary;
  result?: TrainModelResult;
  /** Cancels the trial's child workflow (ASHA's stop); set while it runs. */
  stop?: () => void;
  /** ASHA stopped it: reports that were already on their way no longer count (the metric that stopped it stands). */
  stopping?: boolean;
}

/**
 * A hyperparameter search: each trial is a trainModel child (`<search id>-trial-<n>`) with the
 * trial's parameters merged into the base model section, at most `tuning.parallelism` at once.
 * Trials report each epoch's validation metric by signal (reportToParent); under ASHA a report at
 * a rung may stop the trial, which cancels its child and frees its slot for the next. The best
 * completed trial's model is the search's result.
 *
 * Everything the search decides follows from its history (the seeded trial plan, the signals in
 * the order they were recorded, the children's ends), so a worker that dies mid-search costs
 * nothing: another replays the history to the same state and goes on.
 */
export async function hyperparameterSearch(input: SearchInput): Promise<SearchResult> {
  const { tuning, model } = input;
  const searchId = workflowInfo().workflowId;
  const plan = planTrials(tuning);
  if (plan.length === 0) throw ApplicationFailure.nonRetryable('the search has no trials: give tuning.trials or non-empty choice lists', PIPELINE_INPUT_ERROR);
  const asha = tuning.strategy === 'asha' ? { gracePeriod: 1, reductionFactor: 3, ...tuning.asha } : undefined;
  const epochs = asha?.maxResource ?? model.epochs;
  const width = Math.max(2, String(plan.length - 1).length);
  const trials: Trial[] = plan.map((params, n) => {
    const trial = String(n).padStart(width, '0');
    return { summary: { trial, workflowId: `${searchId}-trial-${trial}`, params, status: 'running', epochs: 0, metric: null, metricByEpoch: [] } };
  });
  const byWorkflowId = new Map(trials.map((t) => [t.summary.workflowId, t]));
  const started: Trial[] = [];

  // The metric's name and direction come with the first report (the task decides which metric the trials report).
  let metric: SearchMetric | undefined;
  let scheduler: AshaScheduler | undefined;
  /** A problem that ends the search (a metric the trials do not report). */
  let fatal: ApplicationFailure | undefined;

  const showDetails = (): void => setCurrentDetails(detailsTable(tuning.strategy, plan.length, started, metric));
  setHandler(searchProgressQuery, () => started.map((t) => t.summary));
  setHandler(epochFinishedSignal, (report) => {
    const trial = report.workflowId === undefined ? undefined : byWorkflowId.get(report.workflowId);
    const value = trial?.summary.status === 'running' && !trial.stopping ? metricOf(report) : undefined;
    if (!trial || value === undefined) return;
    if (tuning.metric !== undefined && tuning.metric !== 'loss' && !value.name.startsWith(tuning.metric)) {
      fatal ??= ApplicationFailure.nonRetryable(
        `tuning.metric is "${tuning.metric}", but the trials report "${value.name}" (the label's task decides it): set tuning.metric to "${value.name.split(' ')[0]}" or "loss"`,
        PIPELINE_INPUT_ERROR,
      );
      return;
    }
    metric ??= { name: value.name, higherIsBetter: higherIsBetter(value.name) };
    if (asha) scheduler ??= new AshaScheduler({ ...asha, maxResource: epochs, higherIsBetter: metric.higherIsBetter });
    const { summary } = trial;
    summary.metricByEpoch[report.epoch] = value.value;
    summary.epochs = Math.max(summary.epochs, report.epoch + 1);
    summary.metric = value.value;
    if (scheduler?.onResult(summary.trial, report.epoch + 1, value.value) === 'stop') {
      trial.stopping = true;
      trial.stop?.();
    }
    showDetails();
  });

  /** The value trials are compared on in an epoch-end report; undefined for a mid-epoch round or a split without validation rows. */
  function metricOf(report: EpochFinished): { name: string; value: number } | undefined {
    if (report.round !== undefined && report.round !== report.rounds) return undefined;
    if (tuning.metric === 'loss') return report.validationLoss === undefined ? undefined : { name: 'loss', value: report.validationLoss };
    return report.validationMetric;
  }

  let firstError: unknown;
  async function runTrial(trial: Trial): Promise<void> {
    const { summary } = trial;
    const scope = new CancellationScope();
    trial.stop = () => scope.cancel();
    try {
      trial.result = await scope.run(() =>
        executeChild(trainModel, {
          workflowId: summary.workflowId,
          taskQueue: input.queues.orchestrator,
          args: [{ model: trialModel(model, summary.params, epochs), transform: input.transform, shards: input.shards, queues: input.queues }],
          staticSummary: `Trial ${summary.trial} of ${plan.length}: ${formatParams(summary.params)}`,
          memo: { trial: summary.trial, params: summary.params },
        }),
      );
      summary.status = 'completed';
      // The metric of the weights it returned (early stopping may restore an earlier epoch's).
      const epoch = returnedEpoch(trialModel(model, summary.params, epochs), trial.result);
      summary.metric = summary.metricByEpoch[epoch] ?? summary.metric;
    } catch (err) {
      // The search itself was cancelled: so are its trials, and the search ends cancelled.
      if (CancellationScope.current().consideredCancelled) throw err;
      if (isCancellation(err)) summary.status = 'stopped';
      else {
        summary.status = 'failed';
        summary.error = rootCauseMessage(err);
        firstError ??= err;
      }
    } finally {
      delete trial.stop;
      showDetails();
    }
  }

  // At most `parallelism` trials at once: the next starts when one completes, fails or is stopped.
  let running = 0;
  const finished: Array<Promise<void>> = [];
  try {
    for (const trial of trials) {
      await condition(() => fatal !== undefined || running < tuning.parallelism);
      if (fatal) throw fatal;
      running++;
      started.push(trial);
      showDetails();
      const ended = runTrial(trial).finally(() => running--);
      ended.catch(() => undefined); // rethrown by the Promise.all below, not an unhandled rejection meanwhile
      finished.push(ended);
    }
    await condition(() => fatal !== undefined || running === 0);
    if (fatal) throw fatal;
    await Promise.all(finished);
  } catch (err) {
    // Cancelled: the trials are being cancelled with the search; wait until they have ended, so none
    // is left training (or terminated half-way) when the search reports itself cancelled.
    if (isCancellation(err)) await CancellationScope.nonCancellable(() => Promise.allSettled(finished));
    throw err;
  }

  const summaries = trials.map((t) => t.summary);
  let best: Trial | undefined;
  for (const t of trials) {
    const m = t.summary.metric;
    if (t.summary.status !== 'completed' || m === null || !Number.isFinite(m) || !metric) continue;
    if (!best || beats(m, best.summary.metric!, metric)) best = t;
  }
  if (!best || !metric) throw noBestTrial(summaries, firstError, tuning.metric ?? 'validation metric');
  return {
    best: { trial: best.summary.trial, params: best.summary.params, metric: best.summary.metric!, result: best.result! },
    trials: summaries,
    metric,
  };
}

/** Why a search has no best trial: every trial failed (the first error, its type kept), or none completed with a metric. */
function noBestTrial(trials: TrialSummary[], firstError: unknown, metricName: string): ApplicationFailure {
  const failed = trials.filter((t) => t.status === 'failed');
  if (failed.length === trials.length) {
    return ApplicationFailure.create({
      message: `every trial failed; the first (trial ${failed[0]!.trial}): ${failed[0]!.error}`,
      type: isPipelineInputFailure(firstError) ? PIPELINE_INPUT_ERROR : 'SearchFailed',
      nonRetryable: true,
      cause: firstError instanceof Error ? firstError : undefined,
    });
  }
  const completed = trials.filter((t) => t.status === 'completed').length;
  return ApplicationFailure.nonRetryable(
    completed === 0
      ? `no trial completed (${trials.length - failed.length} stopped, ${failed.length} failed)`
      : `no completed trial reported a finite validation ${metricName}: the trials need validation rows (split.validationFraction > 0)`,
    PIPELINE_INPUT_ERROR,
  );
}

/** The Web UI's current details of the search: one row per started trial, its parameters, status and metric. */
function detailsTable(strategy: string, total: number, started: Trial[], metric: SearchMetric | undefined): string {
  const names = [...new Set(started.flatMap((t) => Object.keys(t.summary.params)))];
  const header = `| trial | ${names.join(' | ')} | status | epochs | ${metric?.name ?? 'metric'} |`;
  const rule = `|${' --- |'.repeat(names.length + 4)}`;
  const rows = started.map(({ summary: s }) => {
    const params = names.map((n) => (s.params[n] === undefined ? '' : formatParam(s.params[n]!)));
    return `| ${s.trial} | ${params.join(' | ')} | ${s.status} | ${s.epochs} | ${s.metric === null ? '' : formatParam(s.metric)} |`;
  });
  return [`**${strategy}** search: ${started.length} of ${total} trials started`, '', header, rule, ...rows].join('\n');
}

/** Starts a hyperparameter search as a child of the pipeline run `runId` (id `<runId>-search`) and waits for its best trial. */
export function searchInChild(runId: string, modelName: string, input: SearchInput): Promise<SearchResult> {
  const { tuning } = input;
  const trials = planTrials(tuning).length;
  return executeChild(hyperparameterSearch, {
    workflowId: `${runId}-search`,
    taskQueue: input.queues.orchestrator,
    args: [input],
    staticSummary: `Tune **${modelName}**: ${tuning.strategy} search, ${trials} trials, ${tuning.parallelism} at a time, on ${input.shards.length} shards`,
    typedSearchAttributes: [{ key: MODEL, value: modelName }],
  });
}
