import type { Blessing } from '../../../contracts/evaluation';
import type { ClassMetrics, EvaluationMetrics } from '../../../contracts/refs';
import { formatCount, formatMetric, formatPercent, formatSeconds, formatTime } from './format';
import { html, note, table, type Html } from './html';
import type { RunReportData } from './run-report-data';
import { trialParamsText } from './training-charts';

/** The sections of the page that are tables and text: who, what, how it did, and what made it. */

function runSeconds(data: RunReportData): number | null {
  if (!data.finishedAt) return null;
  const ms = Date.parse(data.finishedAt) - Date.parse(data.startedAt);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

export function headerSection(data: RunReportData): Html {
  const seconds = runSeconds(data);
  const model = data.model;
  return html`<header>
    <p class="eyebrow">pipewright run report · pipeline ${data.pipeline}</p>
    <h1>${data.runId}</h1>
    <p class="facts">
      <span class="badge status-${data.status.replace(/[^a-z]/g, '')}">${data.status}</span> started
      ${formatTime(data.startedAt)}${data.finishedAt ? html` · finished ${formatTime(data.finishedAt)}` : ''}${seconds === null ? '' : html` · ${formatSeconds(seconds)}`}
    </p>
    ${
      model
        ? html`<p class="facts">
            Model <strong>${model.name} v${model.version}</strong>${model.aliases.map((a) => html` <span class="badge alias">${a}</span>`)} · backend
            ${model.backend} · registered ${formatTime(model.createdAt)}
          </p>`
        : note('No model version: this run did not register a model.')
    }
    ${data.failure ? html`<p class="failure">Failed in <strong>${data.failure.stage}</strong>: ${data.failure.error}</p>` : ''}
    ${data.blessing ? blessingBanner(data.blessing) : ''}
  </header>`;
}

function blessingBanner(blessing: Blessing): Html {
  // The reason starts with the verdict ("blessed: ..."), which the banner already says.
  const reason = blessing.reason.replace(/^(not )?blessed:\s*/i, '');
  return html`<p class="blessing ${blessing.blessed ? 'blessed' : 'not-blessed'}">
    <strong>${blessing.blessed ? '✓ Blessed' : '✗ Not blessed'}</strong>${reason ? html` · ${reason}` : ''}
  </p>`;
}

export function problemsSection(problems: readonly string[] | undefined): Html {
  if (!problems || problems.length === 0) return html``;
  return html`<div class="problems">
    <strong>Parts of this report could not be loaded:</strong>
    <ul>
      ${problems.map((p) => html`<li>${p}</li>`)}
    </ul>
  </div>`;
}

/** [label, value] of each headline metric of a task, in reading order. */
function metricRows(m: EvaluationMetrics): Array<[string, number, 'count' | 'rate' | 'value']> {
  switch (m.task) {
    case 'multiclass':
      return [
        ['accuracy', m.accuracy, 'value'],
        ['log loss', m.logLoss, 'value'],
        ['macro F1', m.macroF1, 'value'],
        ['micro F1', m.microF1, 'value'],
        ['test rows', m.rows, 'count'],
      ];
    case 'regression':
      return [
        ['RMSE', m.rmse, 'value'],
        ['MAE', m.mae, 'value'],
        ['R²', m.r2, 'value'],
        ['test rows', m.rows, 'count'],
      ];
    default:
      return [
        ['AUC', m.auc, 'value'],
        ['log loss', m.logLoss, 'value'],
        ['accuracy (at 0.5)', m.accuracy, 'value'],
        ['positive rate', m.positiveRate, 'rate'],
        ['test rows', m.rows, 'count'],
      ];
  }
}

function show(value: number | undefined, kind: 'count' | 'rate' | 'value'): string {
  if (value === undefined) return '-';
  return kind === 'count' ? formatCount(value) : kind === 'rate' ? formatPercent(value) : formatMetric(value);
}

/** The headline metrics, beside production's on the same test rows when the blessing compared with it. */
export function metricsSection(data: RunReportData): Html {
  const m = data.metrics;
  if (!m)
    return html`<section class="card">
      <h2>Metrics</h2>
      ${note('No metrics: the run did not finish its evaluation.')}
    </section>`;
  const baseline = data.blessing?.baseline;
  const baselineRows = baseline ? new Map(metricRows(baseline.metrics).map(([label, value]) => [label, value])) : null;
  const rows = metricRows(m).map(([label, value, kind]) =>
    baselineRows ? [label, show(value, kind), show(baselineRows.get(label), kind)] : [label, show(value, kind)],
  );
  const headers = baseline ? ['metric', 'this model', `production v${baseline.version}`] : ['metric', 'this model'];
  return html`<section class="card">
      <h2>Metrics</h2>
      ${table(headers, rows, [1, 2])}
    </section>
    ${m.task === 'multiclass' ? classMetricsCard(m.perClass) : ''}`;
}

/** Classes the per-class table lists at most (the most frequent): the chart and the CLI cover the rest. */
const MAX_CLASS_ROWS = 50;

function classMetricsCard(perClass: readonly ClassMetrics[]): Html {
  const shown = [...perClass].sort((a, b) => b.support - a.support).slice(0, MAX_CLASS_ROWS);
  return html`<section class="card cell-2">
    <h2>Metrics by class</h2>
    ${table(
      ['class', 'precision', 'recall', 'F1', 'test rows'],
      shown.map((c) => [c.class, formatMetric(c.precision), formatMetric(c.recall), formatMetric(c.f1), formatCount(c.support)]),
      [1, 2, 3, 4],
    )}
    ${shown.length < perClass.length ? note(`The ${shown.length} classes with the most test rows, of ${perClass.length}.`) : ''}
  </section>`;
}

export function blessingSection(data: RunReportData): Html {
  const b = data.blessing;
  if (!b)
    return html`<section class="card">
      <h2>Blessing</h2>
      ${note('No blessing recorded: the model was registered before blessings were kept, or the run stopped before.')}
    </section>`;
  const against = b.baseline
    ? `compared with production v${b.baseline.version} on the same test rows`
    : 'first version of the model: no production baseline to compare with';
  return html`<section class="card">
    <h2>Blessing: ${b.blessed ? html`<span class="pass">blessed</span>` : html`<span class="fail">not blessed</span>`}</h2>
    <p class="muted">${against}</p>
    ${
      b.checks.length === 0
        ? note('No checks configured.')
        : // Each message has the figures: "auc 0.7930 is ≥ 0.7", "auc 0.7930 vs production v3 0.7888 (+0.0042): within ...".
          table(
            ['', 'check'],
            b.checks.map((c) => [html`<span class="${c.passed ? 'pass' : 'fail'}">${c.passed ? '✓' : '✗'}</span>`, c.message]),
          )
    }
  </section>`;
}

export function lineageSection(data: RunReportData): Html {
  const l = data.lineage;
  if (!l)
    return html`<section class="card">
      <h2>Lineage</h2>
      ${note('No lineage recorded: the model was registered before lineage was kept.')}
    </section>`;
  return html`<section class="card">
    <h2>Lineage</h2>
    ${table(
      ['what', 'value'],
      [
        ['dataset sha256', html`<code>${l.datasetSha256}</code>`],
        ['transform sha256', html`<code>${l.transformSha256}</code>`],
        ['spec sha256', html`<code>${l.specSha256}</code>`],
        ['code version', html`<code>${l.codeVersion}</code>`],
        ['seeds', `split ${l.seeds.split} · model ${l.seeds.model}`],
        ['backend', l.backend],
      ],
    )}
  </section>`;
}

/** Seconds per stage, with a bar in proportion to the longest. */
export function stagesSection(data: RunReportData): Html {
  const stages = Object.entries(data.stageSeconds);
  if (stages.length === 0)
    return html`<section class="card">
      <h2>Stages</h2>
      ${note('No stage timings recorded (the run has not finished).')}
    </section>`;
  const longest = Math.max(...stages.map(([, s]) => s), 1e-9);
  return html`<section class="card">
    <h2>Stages</h2>
    ${table(
      ['stage', 'time', ''],
      stages.map(([stage, seconds]) => [
        stage,
        formatSeconds(seconds),
        html`<span class="bar" style="width:${((100 * seconds) / longest).toFixed(1)}%"></span>`,
      ]),
      [1],
    )}
  </section>`;
}

export function datasetSection(data: RunReportData): Html {
  const d = data.dataset;
  if (!d)
    return html`<section class="card wide">
      <h2>Dataset</h2>
      ${note('No dataset recorded: the run stopped before its validate stage.')}
    </section>`;
  const v = d.validation;
  const count = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
  const verdict = v.passed ? `passed · ${count(v.warnings, 'warning')}` : `failed · ${count(v.errors, 'error')}, ${count(v.warnings, 'warning')}`;
  return html`<section class="card wide">
    <h2>Dataset</h2>
    ${table(
      ['what', 'value'],
      [
        ['source', d.source],
        ['rows', `${formatCount(d.rows)} ingested, ${formatCount(d.quarantinedRows)} quarantined`],
        ['columns', formatCount(d.columns)],
        ['sha256', html`<code>${d.sha256}</code>`],
        ['validation', verdict],
        ['drift', v.driftColumns > 0 ? `${v.driftColumns} columns compared with the previous dataset` : 'no previous dataset to compare with'],
      ],
    )}
    ${
      v.anomalies.length === 0
        ? note('No anomalies.')
        : table(
            ['severity', 'column', 'check', 'message'],
            v.anomalies.map((a) => [
              html`<span class="sev-${a.severity === 'error' ? 'error' : 'warning'}">${a.severity}</span>`,
              a.column ?? '(dataset)',
              a.check,
              a.message,
            ]),
          )
    }
    ${v.errors + v.warnings > v.anomalies.length ? note(`The first ${v.anomalies.length} of ${v.errors + v.warnings} anomalies; \`pipewright report\` prints them all.`) : ''}
  </section>`;
}

export function specSection(data: RunReportData): Html {
  if (data.spec.length === 0)
    return html`<section class="card wide">
      <h2>Spec</h2>
      ${note('No spec recorded.')}
    </section>`;
  return html`<section class="card wide">
    <h2>Spec</h2>
    ${table(
      ['part', 'value'],
      data.spec.map((s) => [s.name, s.value]),
    )}
  </section>`;
}

export function trialsTable(data: RunReportData): Html {
  const trials = data.trials ?? [];
  const name = data.trialMetric?.name ?? 'metric';
  return table(
    ['trial', 'parameters', name, 'epochs', 'status'],
    trials.map((t) => [t.trial, trialParamsText(t.params), formatMetric(t.metric), formatCount(t.resource), t.status]),
    [2, 3],
  );
}

/** Cross-validation: each metric's mean ± standard deviation over the folds, and every fold's value. */
export function crossValidationSection(data: RunReportData): Html {
  const cv = data.crossValidation;
  if (!cv) return html``;
  const names = Object.keys(cv.metrics).filter((m) => m !== 'rows');
  const figure = (x: number | null): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  return html`<section class="card">
    <h2>Cross-validation</h2>
    <p class="muted">
      ${cv.folds} ${cv.stratified ? 'stratified ' : ''}folds of the train split, each fitted and trained on the others; the test split held out
    </p>
    ${table(
      ['metric', 'mean', '± std', ...Array.from({ length: cv.folds }, (_, i) => `fold ${i + 1}`)],
      names.map((m) => [m, figure(cv.metrics[m]!.mean), figure(cv.metrics[m]!.std), ...cv.metrics[m]!.values.map(figure)]),
      [1, 2, ...Array.from({ length: cv.folds }, (_, i) => i + 3)],
    )}
  </section>`;
}
