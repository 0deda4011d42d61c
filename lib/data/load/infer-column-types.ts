import { DataType, type Field } from 'apache-arrow';
import { CAN_BE, CAN_BE_ANYTHING, possibleTypes } from './text-values';
import type { SqlType } from './sql-types';

/** How many CSV rows inference looks at before the load starts; later values that do not fit are quarantined. */
export const DEFAULT_SAMPLE_ROWS = 10_000;

/** The narrowest type first: an integer column is also a double column, a date column also a timestamp column. */
const PREFERENCE: ReadonlyArray<[number, SqlType]> = [
  [CAN_BE.bigint, 'bigint'],
  [CAN_BE.double, 'double precision'],
  [CAN_BE.boolean, 'boolean'],
  [CAN_BE.date, 'date'],
  [CAN_BE.timestamp, 'timestamp'],
  [CAN_BE.timestamptz, 'timestamptz'],
];

/**
 * One SQL type per column from sampled CSV rows (each row's fields in column order): the narrowest
 * type every non-empty value fits, else text. Empty fields are NULL and say nothing about the
 * type; a column with no value in the sample is text.
 */
export function inferCsvColumnTypes(sample: ReadonlyArray<readonly string[]>, columnCount: number): SqlType[] {
  const masks = new Array<number>(columnCount).fill(CAN_BE_ANYTHING);
  const seen = new Array<boolean>(columnCount).fill(false);
  for (const fields of sample) {
    for (let c = 0; c < columnCount; c++) {
      if (masks[c] === 0) continue; // already text
      const value = fields[c];
      if (value === undefined || value.trim() === '') continue;
      seen[c] = true;
      masks[c]! &= possibleTypes(value);
    }
  }
  return masks.map((mask, c) => {
    if (!seen[c]) return 'text';
    for (const [bit, type] of PREFERENCE) if (mask & bit) return type;
    return 'text';
  });
}

/**
 * The SQL type of a Parquet column from its Arrow type: integers up to 32 bits → integer, wider
 * ones → bigint, floats → double precision, timestamps → timestamp (timestamptz when the file
 * names a zone), dates → date, booleans, strings → text, decimals → numeric. Undefined for types
 * with no natural column (lists, structs, binary, …): the user names one with --types.
 */
export function arrowColumnType(field: Field): SqlType | undefined {
  const type: DataType = DataType.isDictionary(field.type) ? field.type.dictionary : field.type;
  if (DataType.isInt(type)) return type.bitWidth < 32 || (type.bitWidth === 32 && type.isSigned) ? 'integer' : 'bigint';
  if (DataType.isFloat(type)) return 'double precision';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isTimestamp(type)) return type.timezone ? 'timestamptz' : 'timestamp';
  if (DataType.isDate(type)) return 'date';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return 'text';
  if (DataType.isDecimal(type)) return 'numeric';
  if (DataType.isNull(type)) return 'text';
  return undefined;
}
