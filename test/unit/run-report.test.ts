import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pool } from 'pg';
import type { EvaluationMetrics } from '../../contracts/refs';
import { averagePrecision, binaryConfusionAt, trapezoidArea } from '../../lib/reports/run-report/binary-charts';
import { chartGroups } from '../../lib/reports/run-report/chart-sections';
import type { VegaLiteSpec } from '../../lib/reports/run-report/chart-style';
import { escapeHtml, html } from '../../lib/reports/run-report/html';
import { loadRunReportData, RunNotFoundError } from '../../lib/reports/run-report/load-run-report-data';
import { renderRunReport, scopeSvgIds } from '../../lib/reports/run-report/render-run-report';
import { renderChart, stopSvgRenderer } from '../../lib/reports/run-report/render-svg';
import type { RunReportData } from '../../lib/reports/run-report/run-report-data';
import { summarizeSpec } from '../../lib/reports/run-report/spec-summary';

const binary = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'run-report-data.json'), 'utf8')) as RunReportData;

/** The binary run as a 3-class model: a multiclass confusion and per-class metrics, no curves. */
function multiclassVariant(): RunReportData {
  const classes = ['on time', 'late', 'very late'];
  const confusion = [
    [30512, 2210, 301],
    [3120, 9410, 1460],
    [512, 2204, 10271],
  ];
  const rows = confusion.flat().reduce((s, n) => s + n, 0);
  const perClass = classes.map((c, i) => {
    const tp = confusion[i]![i]!;
    const support = confusion[i]!.reduce((s, n) => s + n, 0);
    const predicted = confusion.reduce((s, r) => s + r[i]!, 0);
    const precision = tp / predicted;
    const recall = tp / support;
    return { class: c, precision, recall, f1: (2 * precision * recall) / (precision + recall), support };
  });
  const accuracy = classes.reduce((s, _, i) => s + confusion[i]![i]!, 0) / rows;
  const metrics: EvaluationMetrics = {
    task: 'multiclass',
    accuracy,
    logLoss: 0.6121,
    macroF1: perClass.reduce((s, c) => s + c.f1, 0) / 3,
    microF1: accuracy,
    rows,
    perClass,
  };
  const slices = binary.evaluation!.slices.map((s) => ({
    ...s,
    values: s.values.map((v, i) => ({ ...v, metrics: { ...metrics, accuracy: accuracy - 0.02 * i, rows: v.rows } })),
  }));
  return {
    ...binary,
    metrics,
    blessing: undefined,
    evaluation: { task: 'multiclass', metrics, rows, multiclass: { classes, confusion }, slices },
    importance: { ...binary.importance!, metric: 'accuracy', baseline: accuracy },
  };
}

/** The binary run as a regression model: error quantiles instead of curves. */
function regressionVariant(): RunReportData {
  const metrics: EvaluationMetrics = { task: 'regression', rmse: 31.4, mae: 17.9, r2: 0.214, rows: 60000 };
  const slices = binary.evaluation!.slices.map((s) => ({
    ...s,
    values: s.values.map((v, i) => ({ ...v, metrics: { ...metrics, rmse: 28 + 2.5 * i, rows: v.rows } })),
  }));
  const absoluteErrorQuantiles = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99].map((q) => ({ q, value: Math.round(-12 * Math.log(1 - q) * 10) / 10 }));
  return {
    ...binary,
    metrics,
    blessing: undefined,
    evaluation: { task: 'regression', metrics, rows: 60000, regression: { absoluteErrorQuantiles }, slices },
    importance: { ...binary.importance!, metric: 'rmse', baseline: 31.4 },
    trials: undefined,
  };
}

/** A chart's own title and the titles of its x and y axes (over its layers). */
function titlesOf(spec: VegaLiteSpec): { title: string; axes: string[] } {
  const s = spec as unknown as {
    title: { text: string };
    encoding?: Record<string, { title?: string }>;
    layer?: Array<{ encoding?: Record<string, { title?: string }> }>;
  };
  const encodings = [s.encoding, ...(s.layer ?? []).map((l) => l.encoding)];
  const axes = new Set<string>();
  for (const e of encodings) for (const channel of ['x', 'y']) if (typeof e?.[channel]?.title === 'string') axes.add(e[channel].title);
  return { title: s.title.text, axes: [...axes] };
}

/** Text as vega writes it into SVG. */
const svgText = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

afterAll(() => stopSvgRenderer());

describe('charts', () => {
  const variants: Array<[string, RunReportData]> = [
    ['binary', binary],
    ['multiclass', multiclassVariant()],
    ['regression', regressionVariant()],
  ];
  test.each(variants)('every %s chart renders to SVG with its title and axis titles, without warnings', async (_, data) => {
    const specs = chartGroups(data).flatMap((g) => g.charts);
    expect(specs.length).toBeGreaterThan(3);
    for (const spec of specs) {
      const { svg, warnings } = await renderChart(spec);
      const { title, axes } = titlesOf(spec);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(warnings).toEqual([]);
      expect(svg).toContain(svgText(title));
      expect(axes.length).toBeGreaterThanOrEqual(2);
      for (const axis of axes) expect(svg).toContain(svgText(axis));
    }
  });

  test('the binary run has every chart the report promises', () => {
    const titles = chartGroups(binary).flatMap((g) => g.charts.map((c) => titlesOf(c).title));
    expect(titles).toEqual([
      'Loss per epoch',
      'Validation auc per epoch',
      'ROC curve (AUC 0.793)',
      expect.stringMatching(/^Precision-recall curve \(AP 0\.\d+\)$/),
      'Calibration',
      'Precision, recall and F1 by threshold',
      'Confusion matrix at threshold 0.5',
      'AUC by origin',
      'AUC by hour',
      'Permutation importance (drop in auc)',
      'Trials: validation auc',
    ]);
  });

  test('the binary confusion matrix is the 0.5 threshold row, actual × predicted', async () => {
    const row = binary.evaluation!.binary!.thresholds.find((t) => t.threshold === 0.5)!;
    expect(binaryConfusionAt(binary.evaluation!.binary!.thresholds)!.confusion).toEqual([
      [row.tn, row.fp],
      [row.fn, row.tp],
    ]);
    const spec = chartGroups(binary)
      .flatMap((g) => g.charts)
      .find((c) => titlesOf(c).title.startsWith('Confusion'))!;
    const { svg } = await renderChart(spec);
    for (const n of [row.tn, row.fp, row.fn, row.tp]) expect(svg).toContain(`>${n.toLocaleString('en-US')}<`);
  });

  test('AUC and average precision match brute force', () => {
    // A perfect and a useless ranking, and a small one worked by hand.
    expect(trapezoidArea([0, 0, 1], [0, 1, 1])).toBeCloseTo(1);
    expect(trapezoidArea([0, 0.5, 1], [0, 0.5, 1])).toBeCloseTo(0.5);
    // scores 0.9 (1), 0.8 (0), 0.7 (1), 0.6 (0): precision at each positive 1 and 2/3 → AP = 0.5·1 + 0.5·2/3.
    expect(averagePrecision([0.5, 0.5, 1, 1], [1, 0.5, 2 / 3, 0.5])).toBeCloseTo(0.5 + 1 / 3);
    const roc = binary.evaluation!.binary!.roc;
    // The fixture's ROC is thinned to 50 vertices: its area is the exact AUC to about 3 decimals.
    expect(trapezoidArea(roc.fpr, roc.tpr)).toBeCloseTo((binary.metrics as { auc: number }).auc, 2);
  });

  test('user text in a chart is escaped by vega', async () => {
    const slice = {
      ...binary.evaluation!.slices[0]!,
      feature: 'o<rigin',
      values: [{ ...binary.evaluation!.slices[0]!.values[0]!, value: '<img src=x onerror=alert(1)>' }],
    };
    const data: RunReportData = { ...binary, evaluation: { ...binary.evaluation!, slices: [slice] } };
    const spec = chartGroups(data)
      .find((g) => g.id === 'slices')!
      .charts.at(0)!;
    const { svg } = await renderChart(spec);
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('renderRunReport', () => {
  test('a binary run: one self-contained page, no script, no external URL, every section, fast', async () => {
    await renderRunReport(binary); // the renderer thread's start (loading vega) is not the report's cost
    const started = Date.now();
    const page = await renderRunReport(binary, { generatedAt: new Date('2026-11-30T02:00:00Z') });
    const ms = Date.now() - started;
    expect(ms).toBeLessThan(4000);
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<link|<img|<iframe|@import|\bsrc=/i);
    // The only URLs are the SVG namespaces vega declares; url(...) only points into the page.
    expect(page.replace(/\sxmlns(:\w+)?="[^"]*"/g, '')).not.toMatch(/https?:\/\//);
    expect([...page.matchAll(/url\(([^)]*)\)/g)].every((m) => m[1]!.startsWith('#'))).toBe(true);
    expect((page.match(/<svg/g) ?? []).length).toBe(11);
    // Ids stay unique with several SVGs inlined in one page.
    const ids = [...page.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const text of [
      'flights-20261130-010200-236',
      'flights v4',
      'candidate',
      '✓ Blessed',
      'production v3',
      'Lineage',
      'a3f1c9e07b5d2e84',
      'stopped',
      'learningRate=0.001, hidden=[128, 64], batchSize=4096',
    ]) {
      expect(page).toContain(text);
    }
    expect(page).not.toContain('class="note"');
    expect(page).not.toContain('could not be drawn');
  });

  test('escapes user text: a run id, a pipeline, a check message, a slice value', async () => {
    const evil = '<script>alert("x")</script>';
    const data: RunReportData = {
      ...binary,
      runId: `run-${evil}`,
      pipeline: `p<b>&`,
      spec: [{ name: 'source', value: `postgres query "SELECT '<x>'"` }],
      blessing: { ...binary.blessing!, reason: `not blessed: auc <0.5`, blessed: false },
      evaluation: {
        ...binary.evaluation!,
        slices: [{ ...binary.evaluation!.slices[0]!, values: [{ ...binary.evaluation!.slices[0]!.values[0]!, value: evil }] }],
      },
    };
    const page = await renderRunReport(data);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toContain('<b>');
    expect(page).toContain(`run-${escapeHtml(evil)}`);
    expect(page).toContain('p&lt;b&gt;&amp;');
    expect(page).toContain('✗ Not blessed</strong> · auc &lt;0.5');
  });

  test('leaves out what a run does not have, and says why', async () => {
    const bare: RunReportData = {
      runId: 'old-run-1',
      pipeline: 'flights',
      status: 'failed',
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:01:00.000Z',
      stageSeconds: { ingest: 4.2 },
      spec: [],
      metrics: null,
      failure: { stage: 'transform', error: 'column "distance" has no values' },
    };
    const page = await renderRunReport(bare);
    expect(page).not.toContain('<svg');
    for (const text of [
      'No model version',
      'No metrics',
      'No blessing recorded',
      'No lineage recorded',
      'No training curves',
      'No evaluation report',
      'No slices',
      'No feature importance',
      'No hyperparameter trials',
      'No dataset recorded',
      'Failed in <strong>transform</strong>',
    ]) {
      expect(page).toContain(text);
    }
  });

  test('a run registered before evaluation reports were kept has its metrics and training, and a note for the rest', async () => {
    const old: RunReportData = { ...binary, evaluation: undefined, importance: undefined, trials: undefined };
    const page = await renderRunReport(old);
    expect((page.match(/<svg/g) ?? []).length).toBe(2);
    expect(page).toContain('No evaluation report');
    expect(page).toContain('0.793');
  });

  test('a multiclass run shows its confusion matrix and per-class metrics, and no curves', async () => {
    const page = await renderRunReport(multiclassVariant());
    expect(page).toContain('Confusion matrix');
    expect(page).toContain('very late');
    expect(page).toContain('30,512');
    expect(page).toContain('Precision, recall and F1 by class');
    expect(page).toContain('accuracy by origin');
    expect(page).toContain('this is a multiclass model');
    expect(page).not.toContain('ROC curve');
  });

  test('a regression run shows its error quantiles and RMSE slices, and no ROC', async () => {
    const page = await renderRunReport(regressionVariant());
    expect(page).toContain('Absolute error by quantile');
    expect(page).toContain('RMSE by origin');
    expect(page).toContain('this is a regression model');
    expect(page).not.toContain('ROC curve');
    expect(page).not.toContain('Confusion matrix');
    expect(page).toContain('No hyperparameter trials');
  });
});

describe('helpers', () => {
  test('html escapes interpolated text but not nested Html', () => {
    expect(html`<p>${'<a href="x">&'}</p>`.value).toBe('<p>&lt;a href=&quot;x&quot;&gt;&amp;</p>');
    expect(html`<p>${html`<b>${'<i>'}</b>`}${null}${['a', 1]}</p>`.value).toBe('<p><b>&lt;i&gt;</b>a1</p>');
  });

  test('scopeSvgIds renames ids and their references', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use xlink:href="#clip1"/></g></svg>';
    expect(scopeSvgIds(svg, 'c3')).toBe(
      '<svg><defs><clipPath id="c3-clip1"><rect/></clipPath></defs><g clip-path="url(#c3-clip1)"><use xlink:href="#c3-clip1"/></g></svg>',
    );
  });

  test('summarizeSpec reads the example spec', () => {
    const spec = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8')) as unknown;
    expect(summarizeSpec(spec)).toEqual([
      { name: 'source', value: 'postgres flights (key id, 4 partitions)' },
      { name: 'label', value: 'delay > 15 (binary)' },
      {
        name: 'features',
        value:
          'distance (numeric), origin (categorical, top 300), destination (categorical, top 300), hour (hourOfDay), day_of_week (dayOfWeek), day_of_year (timestamp, month + dayOfMonth)',
      },
      { name: 'split', value: 'test 20%, seed 42' },
      { name: 'model', value: 'mlp, hidden [64, 32], 2 epochs, batch 2048, learning rate 0.005, seed 7, 2 workers' },
    ]);
    expect(summarizeSpec(null)).toEqual([]);
    expect(summarizeSpec({ source: 'odd' })).toEqual([]);
  });
});

describe('loadRunReportData', () => {
  /** A pg Pool stand-in that answers each query by the table it reads. */
  function fakePool(tables: Record<string, unknown[]>): Pool {
    const query = (sql: string): Promise<{ rows: unknown[] }> => {
      const table = /FROM (pipewright_\w+)/.exec(sql)![1]!;
      return Promise.resolve({ rows: tables[table] ?? [] });
    };
    return { query } as unknown as Pool;
  }

  test('a run that is not in the run log is a clear error', async () => {
    await expect(loadRunReportData(fakePool({}), 'nope-1')).rejects.toThrow(RunNotFoundError);
    await expect(loadRunReportData(fakePool({}), 'nope-1')).rejects.toThrow('no run "nope-1" in the run log');
  });

  test('reads the run, its model version with aliases, the evaluation artifact and the dataset', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-report-'));
    const write = (name: string, value: unknown): string => {
      fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
      return pathToFileURL(path.join(dir, name)).href;
    };
    const evaluationUri = write('evaluation.json', binary.evaluation);
    const statisticsUri = write('statistics.json', { format: 'pipewright.statistics/v1', state: {}, summary: { rows: 10, columns: { a: {}, b: {} } } });
    const validationUri = write('validation.json', {
      passed: true,
      errors: 0,
      warnings: 1,
      anomalies: [{ check: 'drift', column: 'a', severity: 'warning', message: 'a drifted' }],
      drift: [{}, {}],
    });
    const spec = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8')) as unknown;
    const pool = fakePool({
      pipewright_runs: [
        {
          run_id: 'r1',
          pipeline: 'flights',
          spec,
          status: 'succeeded',
          started_at: new Date('2026-01-01T00:00:00Z'),
          finished_at: new Date('2026-01-01T00:00:30Z'),
          metrics: binary.metrics,
          stage_seconds: { ingest: 1 },
        },
      ],
      pipewright_model_versions: [
        {
          name: 'flights',
          version: 4,
          backend: 'wasm',
          metrics: binary.metrics,
          created_at: new Date('2026-01-01T00:00:29Z'),
          lineage: binary.lineage,
          blessing: binary.blessing,
          evaluation_uri: evaluationUri,
          importance: binary.importance,
          training: binary.training,
        },
      ],
      pipewright_model_aliases: [{ alias: 'candidate' }, { alias: 'production' }],
      pipewright_datasets: [
        { source: 'flights', rows: '10', quarantined_rows: '0', sha256: 'abc', statistics_uri: statisticsUri, validation_uri: validationUri },
      ],
    });
    const data = await loadRunReportData(pool, 'r1');
    expect(data.model).toEqual({ name: 'flights', version: 4, aliases: ['candidate', 'production'], backend: 'wasm', createdAt: '2026-01-01T00:00:29.000Z' });
    expect(data.evaluation).toEqual(binary.evaluation);
    expect(data.blessing).toEqual(binary.blessing);
    expect(data.spec[1]).toEqual({ name: 'label', value: 'delay > 15 (binary)' });
    expect(data.dataset).toMatchObject({
      rows: 10,
      columns: 2,
      validation: { warnings: 1, driftColumns: 2, anomalies: [{ column: 'a', message: 'a drifted' }] },
    });
    expect(data.problems).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a failed run without a model; a missing artifact becomes a problem, not a failure', async () => {
    const pool = fakePool({
      pipewright_runs: [
        {
          run_id: 'r2',
          pipeline: 'flights',
          spec: {},
          status: 'failed',
          started_at: new Date('2026-01-01T00:00:00Z'),
          finished_at: new Date('2026-01-01T00:00:30Z'),
          metrics: { error: 'boom', stage: 'train' },
          stage_seconds: {},
        },
      ],
      pipewright_datasets: [
        {
          source: 'flights',
          rows: '10',
          quarantined_rows: '0',
          sha256: 'abc',
          statistics_uri: 'file:///nonexistent/s.json',
          validation_uri: 'file:///nonexistent/v.json',
        },
      ],
    });
    const data = await loadRunReportData(pool, 'r2');
    expect(data.failure).toEqual({ stage: 'train', error: 'boom' });
    expect(data.metrics).toBeNull();
    expect(data.model).toBeUndefined();
    expect(data.dataset).toBeUndefined();
    expect(data.problems).toHaveLength(1);
  });
});
