import { openAsBlob } from 'node:fs';
import { tableFromIPC, type Field } from 'apache-arrow';
import { PipelineInputError } from '../../errors';
import { arrowColumnType } from '../load/infer-column-types';
import type { SqlType } from '../load/sql-types';
import type { FilePiece } from '../partitions';
import { balancedCuts } from './balanced-cuts';

export interface ParquetLayout {
  /** Column names and their SQL types (undefined: no natural type, e.g. a list). */
  columns: Array<{ name: string; type: SqlType | undefined }>;
  rows: number;
  /** Per partition, the pieces of files it reads. */
  partitions: FilePiece[][];
}

interface FileMeta {
  file: string;
  fields: Field[];
  rowGroupRows: number[];
}

async function readMeta(file: string): Promise<FileMeta> {
  const parquetWasm = await import('parquet-wasm/node');
  let parquet: Awaited<ReturnType<typeof parquetWasm.ParquetFile.fromFile>>;
  try {
    parquet = await parquetWasm.ParquetFile.fromFile(await openAsBlob(file));
  } catch (err) {
    throw new PipelineInputError(`source.path: ${file} is not a readable Parquet file (${(err as Error).message ?? String(err)}).`);
  }
  try {
    const fields = tableFromIPC(parquet.schema().intoIPCStream()).schema.fields;
    return {
      file,
      fields,
      rowGroupRows: parquet
        .metadata()
        .rowGroups()
        .map((g) => g.numRows()),
    };
  } finally {
    parquet.free();
  }
}

const signature = (fields: Field[]): string => fields.map((f) => `${f.name}:${String(f.type)}`).join(', ');

/**
 * Reads the files' footers (not their data) and cuts their rows into `count` runs of equal rows:
 * a run covers whole row groups where it can and part of one where the cut falls inside it (the
 * reader then decodes that row group and skips to its rows). Every file must have the same columns.
 */
export async function parquetLayout(files: readonly string[], count: number): Promise<ParquetLayout> {
  const metas = await Promise.all(files.map(readMeta));
  const first = metas[0]!;
  for (const m of metas.slice(1)) {
    if (signature(m.fields) !== signature(first.fields)) {
      throw new PipelineInputError(
        `source.path: ${m.file} has columns (${signature(m.fields)}) unlike ${first.file} (${signature(first.fields)}); every file of a source must have the same columns.`,
      );
    }
  }
  // Each row group's place in the concatenation of all files.
  const groups = metas.flatMap((m, fileIndex) => {
    let firstRow = 0;
    return m.rowGroupRows.map((rows, group) => {
      const g = { file: m.file, fileIndex, group, firstRow, rows };
      firstRow += rows;
      return g;
    });
  });
  const starts: number[] = [];
  let total = 0;
  for (const g of groups) {
    starts.push(total);
    total += g.rows;
  }
  if (total === 0) throw new PipelineInputError(`source.path: ${files.length === 1 ? files[0] : `the ${files.length} files`} have no rows.`);
  const bounds = [0, ...balancedCuts(total, count), total];
  const partitions: FilePiece[][] = [];
  for (let p = 0; p + 1 < bounds.length; p++) {
    const [lo, hi] = [bounds[p]!, bounds[p + 1]!];
    const pieces: FilePiece[] = [];
    groups.forEach((g, i) => {
      const from = Math.max(lo, starts[i]!);
      const to = Math.min(hi, starts[i]! + g.rows);
      if (from >= to) return;
      // One piece per row group: parquet-wasm applies a stream's offset and limit to each of its row groups.
      const offset = from - starts[i]!;
      pieces.push({ format: 'parquet', file: g.file, fileIndex: g.fileIndex, rowGroups: [g.group], offset, rows: to - from, firstRow: g.firstRow + offset });
    });
    partitions.push(pieces);
  }
  return { columns: first.fields.map((f) => ({ name: f.name, type: arrowColumnType(f) })), rows: total, partitions };
}
