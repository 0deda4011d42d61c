/**
 * How a source is cut into partitions that parallel ingest activities read, one shard each. Pure:
 * the SQL that finds the cut points lives in partition-planner.ts.
 */

/** Rows whose integer key is in [lo, hi). */
export interface KeyRange {
  kind: 'keyRange';
  partition: number;
  lo: number;
  hi: number;
}

/** Rows stored in heap blocks [lo, hi): a TID range scan, as PostgreSQL's parallel sequential scans divide a table. */
export interface BlockRange {
  kind: 'blockRange';
  partition: number;
  lo: number;
  hi: number;
}

/** Rows whose hashed column falls in bucket `partition` of `of`; every such partition scans the whole source. */
export interface HashBucket {
  kind: 'hashBucket';
  partition: number;
  of: number;
  column: string;
}

/**
 * One file's share of a partition. Parquet: rows [offset, offset + rows) of the file's row groups
 * `rowGroups`. CSV: bytes [start, end), whole records, the first starting on line `firstLine`.
 */
export type FilePiece =
  | { format: 'parquet'; file: string; fileIndex: number; rowGroups: number[]; offset: number; rows: number; firstRow: number }
  | { format: 'csv'; file: string; fileIndex: number; start: number; end: number; firstLine: number };

/** Pieces of one or more files, read in order into one shard. */
export interface FileRange {
  kind: 'fileRange';
  partition: number;
  pieces: FilePiece[];
}

export type Partition = KeyRange | BlockRange | HashBucket | FileRange;

/** A readable line for activity summaries and messages. */
export function describePartition(p: Partition, key?: string): string {
  switch (p.kind) {
    case 'keyRange':
      return `${key ?? 'key'} in [${p.lo}, ${p.hi})`;
    case 'blockRange':
      return `blocks [${p.lo}, ${p.hi})`;
    case 'hashBucket':
      return `hash(${p.column}) mod ${p.of} = ${p.partition}`;
    case 'fileRange':
      return p.pieces.map(describePiece).join(', ');
  }
}

function describePiece(piece: FilePiece): string {
  const name = piece.file.slice(piece.file.lastIndexOf('/') + 1);
  if (piece.format === 'csv') return `${name} bytes [${piece.start}, ${piece.end})`;
  return `${name} rows [${piece.firstRow}, ${piece.firstRow + piece.rows})`;
}

/** `count` near-equal integer intervals covering [min, max], or fewer when there are fewer integers. */
function equalIntervals(min: number, max: number, count: number): Array<[number, number]> {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw new Error(`bounds must be safe integers, got ${min}..${max}`);
  if (max < min) return [];
  if (!Number.isInteger(count) || count < 1) throw new Error(`partition count must be a positive integer, got ${count}`);
  // BigInt: for wide key spaces span * i exceeds 2^53 and float rounding would drop or repeat keys.
  const span = BigInt(max) - BigInt(min) + 1n;
  const n = span < BigInt(count) ? Number(span) : count;
  const boundary = (i: number): number => Number(BigInt(min) + (span * BigInt(i)) / BigInt(n));
  return Array.from({ length: n }, (_, i) => [boundary(i), boundary(i + 1)]);
}

/**
 * Splits [min, max] into `count` contiguous key ranges of near-equal width that cover every key
 * exactly once. Equal width is equal work only for a dense key; see keyRangesAtCuts otherwise.
 */
export function planKeyRanges(min: number, max: number, count: number): KeyRange[] {
  return equalIntervals(min, max, count).map(([lo, hi], partition) => ({ kind: 'keyRange', partition, lo, hi }));
}

/**
 * Key ranges that start at `min` and at each cut point, the last ending after `max`: with cuts at
 * the key's quantiles, each range holds about the same number of rows however skewed the key is.
 * Repeated cuts (a key value heavier than one partition) collapse, so fewer ranges may come back.
 */
export function keyRangesAtCuts(min: number, cuts: readonly number[], max: number): KeyRange[] {
  for (const v of [min, max, ...cuts]) {
    if (!Number.isSafeInteger(v)) throw new Error(`key ${v} is beyond ±2^53; split this source by source.hashColumn instead`);
  }
  if (max < min) return [];
  const starts = [min];
  for (const cut of [...cuts].sort((a, b) => a - b)) if (cut > starts[starts.length - 1]! && cut <= max) starts.push(cut);
  return starts.map((lo, partition) => ({ kind: 'keyRange', partition, lo, hi: partition + 1 < starts.length ? starts[partition + 1]! : max + 1 }));
}

/**
 * The 0-based ranks at which partitions 1..count-1 start when `rows` sorted rows are cut into `count`
 * near-equal runs; the same cut points planKeyRanges gives for a dense key.
 */
export function quantileRanks(rows: number, count: number): number[] {
  return equalIntervals(0, rows - 1, count)
    .slice(1)
    .map(([lo]) => lo);
}

/** `count` near-equal block ranges over a table of `blocks` heap blocks. */
export function planBlockRanges(blocks: number, count: number): BlockRange[] {
  return equalIntervals(0, blocks - 1, count).map(([lo, hi], partition) => ({ kind: 'blockRange', partition, lo, hi }));
}

export function planHashBuckets(column: string, count: number): HashBucket[] {
  return Array.from({ length: count }, (_, partition) => ({ kind: 'hashBucket', partition, of: count, column }));
}
