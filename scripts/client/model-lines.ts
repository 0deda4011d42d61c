import { crossValidationLine, searchLine } from './evaluation-lines';
import { formatClassMetrics, formatMetrics } from '../../lib/evaluation/metrics-summary';
import type { ModelVersionRow } from '../../lib/registry/model-rows';
import { textTable } from './text-table';

/** How the CLI shows registered versions (`models`, `models show`, `runs show`). Pure. */

const short = (sha: string): string => sha.slice(0, 12);

/** "[candidate, production]", or nothing. */
export function aliasTag(row: Pick<ModelVersionRow, 'aliases'>): string {
  return row.aliases.length ? `[${row.aliases.join(', ')}]` : '';
}

/** "blessed", "not blessed", or nothing for versions registered before blessings. */
export function blessingTag(row: Pick<ModelVersionRow, 'blessing'>): string {
  return row.blessing ? (row.blessing.blessed ? 'blessed' : 'not blessed') : '';
}

/** Two lines per version, as `models list` prints them. */
export function versionListLines(row: ModelVersionRow): string[] {
  const tags = [aliasTag(row), blessingTag(row)].filter(Boolean).join(' ');
  return [
    `${row.name} v${row.version}  ${tags ? `${tags}  ` : ''}${formatMetrics(row.metrics)}`,
    `    run ${row.runId} · backend ${row.backend} · data ${short(row.datasetSha256)} · model ${row.modelUri}`,
  ];
}

/** The blessing: its verdict and reason, then one line per check. */
export function blessingLines(blessing: NonNullable<ModelVersionRow['blessing']>): string[] {
  const lines = [`${blessing.blessed ? 'blessed' : 'not blessed'}: ${blessing.reason}`];
  for (const check of blessing.checks) lines.push(`  ${check.passed ? '✓' : '✗'} ${check.message}`);
  if (blessing.baseline) lines.push(`  compared with v${blessing.baseline.version}: ${formatMetrics(blessing.baseline.metrics)}`);
  return lines;
}

/** Everything the registry knows about one version, as `models show` prints it. */
export function versionDetailLines(row: ModelVersionRow, topFeatures = 10): string[] {
  const rows: string[][] = [];
  const add = (label: string, values: string[]): void => values.forEach((value, i) => rows.push([i === 0 ? label : '', value]));
  add('aliases', [row.aliases.length ? row.aliases.join(', ') : '(none)']);
  add('run', [row.runId]);
  add('registered', [`${row.createdAt.toISOString()}${row.deployedAt ? ` · first production ${row.deployedAt.toISOString()}` : ''}`]);
  add('metrics', [formatMetrics(row.metrics), ...formatClassMetrics(row.metrics)]);
  add('blessing', row.blessing ? blessingLines(row.blessing) : ['(not recorded)']);
  const l = row.lineage;
  add(
    'lineage',
    l
      ? [
          `dataset ${short(l.datasetSha256)} · transform ${short(l.transformSha256)} · spec ${short(l.specSha256)}`,
          `code ${short(l.codeVersion)}${l.packageVersion ? ` (pipewright ${l.packageVersion}${l.gitCommit ? `, commit ${l.gitCommit.slice(0, 12)}` : ''})` : ''} · seeds split ${l.seeds.split}, model ${l.seeds.model} · backend ${l.backend}`,
        ]
      : [`dataset ${short(row.datasetSha256)} · transform ${short(row.transformSha256)} · backend ${row.backend} (full lineage not recorded)`],
  );
  add('artifacts', [
    `model ${row.modelUri} (${short(row.modelSha256)})`,
    `transform ${row.transformUri} (${short(row.transformSha256)})`,
    ...(row.evaluationUri ? [`evaluation ${row.evaluationUri}`] : []),
  ]);
  if (row.importance) {
    const imp = row.importance;
    const top = imp.features.slice(0, topFeatures);
    add('importance', [
      `${imp.metric} drop when a feature is shuffled (${imp.rows} rows × ${imp.repeats} repeats, ${imp.metric} ${imp.baseline.toFixed(4)} intact)`,
      ...textTable(
        top.map((f) => [f.feature, f.drop.toFixed(4), `± ${f.std.toFixed(4)}`]),
        new Set([1]),
      ),
      ...(imp.features.length > top.length ? [`(${imp.features.length - top.length} more features)`] : []),
    ]);
  }
  if (row.crossValidation) add('cross-val', [crossValidationLine(row.crossValidation, row.metrics.task ?? 'binary')]);
  if (row.search) add('search', [searchLine(row.search)]);
  if (row.training) {
    const t = row.training;
    const values = (xs: number[]): string => xs.map((x) => x.toFixed(4)).join(', ');
    add('training', [
      `loss per epoch ${values(t.trainLoss)}`,
      ...(t.validationLoss ? [`validation loss ${values(t.validationLoss)}`] : []),
      ...(t.validationMetric ? [`validation ${t.validationMetric.name} ${values(t.validationMetric.values)}`] : []),
    ]);
  }
  return [`${row.name} v${row.version}`, ...textTable(rows).map((line) => `  ${line}`)];
}
