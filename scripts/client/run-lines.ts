import { formatClassMetrics, formatMetrics } from '../../lib/evaluation/metrics-summary';
import type { RunDetail } from '../../lib/registry/run-log';
import { blessingLines } from './model-lines';
import { textTable } from './text-table';

/** One run in full, as `runs show` prints it: status and times, stages and their seconds, metrics, dataset, model and blessing. Pure. */
export function runDetailLines(run: RunDetail): string[] {
  const rows: string[][] = [];
  const add = (label: string, values: string[]): void => values.forEach((value, i) => rows.push([i === 0 ? label : '', value]));
  const seconds = run.finishedAt ? ` · ${((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1)}s` : '';
  add('status', [run.status]);
  add('started', [`${run.startedAt.toISOString()}${run.finishedAt ? ` · finished ${run.finishedAt.toISOString()}${seconds}` : ''}`]);
  const stages = Object.entries(run.stageSeconds ?? {});
  if (stages.length)
    add(
      'stages',
      textTable(
        stages.map(([stage, s]) => [stage, `${s.toFixed(1)}s`]),
        new Set([1]),
      ),
    );
  const m = run.metrics;
  if (m && 'error' in m) add('error', [`in ${m.stage}: ${m.error}`]);
  else if (m) add('metrics', [formatMetrics(m), ...formatClassMetrics(m)]);
  if (run.dataset) {
    const d = run.dataset;
    add('dataset', [`${d.rows} rows, ${d.quarantinedRows} quarantined · ${d.sha256.slice(0, 12)} · validation ${d.passed ? 'passed' : 'failed'}`]);
  }
  if (run.model) {
    const aliases = run.model.aliases.length ? ` [${run.model.aliases.join(', ')}]` : '';
    add('model', [`${run.model.name} v${run.model.version}${aliases} (pipewright models show ${run.model.name} ${run.model.version})`]);
    add('blessing', run.model.blessing ? blessingLines(run.model.blessing) : ['(not recorded)']);
  } else {
    add('model', ['(none registered)']);
  }
  return [`${run.runId} (${run.pipeline})`, ...textTable(rows).map((line) => `  ${line}`)];
}
