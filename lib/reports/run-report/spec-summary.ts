import type { SpecLine } from './run-report-data';

/**
 * The stored spec in a few readable lines. The spec column holds whatever spec version the run was
 * started with, so this reads it defensively (no schema parse, which an old spec could fail) and
 * leaves out what it does not find.
 */
type Json = Record<string, unknown>;

function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

function parts(...items: Array<string | false | undefined>): string {
  return items.filter((s): s is string => typeof s === 'string' && s.length > 0).join(', ');
}

function sourceLine(source: Json): string {
  const kind = text(source.kind) ?? 'source';
  const where =
    text(source.table) ?? text(source.path) ?? (typeof source.query === 'string' ? `query "${source.query.replace(/\s+/g, ' ').slice(0, 60)}"` : '?');
  const extra = parts(source.key !== undefined && `key ${text(source.key)}`, source.partitions !== undefined && `${text(source.partitions)} partitions`);
  return `${kind} ${where}${extra ? ` (${extra})` : ''}`;
}

function labelLine(label: Json): string {
  const column = text(label.column) ?? '?';
  const task = text(label.task) ?? 'binary';
  if (label.greaterThan !== undefined) return `${column} > ${text(label.greaterThan)} (${task})`;
  if (Array.isArray(label.oneOf)) return `${column} in [${label.oneOf.map((v) => text(v) ?? '?').join(', ')}] (${task})`;
  return `${column} (${task})`;
}

function featureLine(feature: unknown): string {
  const f = record(feature) ?? {};
  const detail = parts(
    text(f.kind),
    f.topK !== undefined && `top ${text(f.topK)}`,
    f.buckets !== undefined && `${text(f.buckets)} buckets`,
    Array.isArray(f.parts) && f.parts.map((p) => text(p) ?? '?').join(' + '),
  );
  return `${text(f.name) ?? '?'}${detail ? ` (${detail})` : ''}`;
}

function modelLine(model: Json): string {
  const parallel = record(model.parallelism);
  return parts(
    text(model.type),
    Array.isArray(model.hidden) && `hidden [${model.hidden.map((h) => text(h) ?? '?').join(', ')}]`,
    model.epochs !== undefined && `${text(model.epochs)} epochs`,
    model.batchSize !== undefined && `batch ${text(model.batchSize)}`,
    model.learningRate !== undefined && `learning rate ${text(model.learningRate)}`,
    model.seed !== undefined && `seed ${text(model.seed)}`,
    parallel?.workers !== undefined && `${text(parallel.workers)} workers`,
  );
}

function splitLine(split: Json): string {
  const test = typeof split.testFraction === 'number' ? `test ${Math.round(split.testFraction * 1000) / 10}%` : undefined;
  const validation = typeof split.validationFraction === 'number' ? `validation ${Math.round(split.validationFraction * 1000) / 10}%` : undefined;
  return parts(
    test,
    validation,
    split.timeColumn !== undefined && `latest rows by ${text(split.timeColumn)}`,
    split.seed !== undefined && `seed ${text(split.seed)}`,
    split.stratify === true && 'stratified',
  );
}

export function summarizeSpec(spec: unknown): SpecLine[] {
  const s = record(spec);
  if (!s) return [];
  const lines: SpecLine[] = [];
  const source = record(s.source);
  if (source) lines.push({ name: 'source', value: sourceLine(source) });
  const label = record(s.label);
  if (label) lines.push({ name: 'label', value: labelLine(label) });
  if (Array.isArray(s.features)) lines.push({ name: 'features', value: s.features.map(featureLine).join(', ') });
  const split = record(s.split);
  if (split) lines.push({ name: 'split', value: splitLine(split) });
  const model = record(s.model);
  if (model) lines.push({ name: 'model', value: modelLine(model) });
  return lines.filter((l) => l.value.length > 0);
}
