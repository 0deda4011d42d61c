import { BadRequestError } from './bad-request';
import { describeName, describeValue } from './describe-value';

/** Most rows one request may carry: a bound on the work and memory a single request can ask for. */
export const MAX_ROWS_PER_REQUEST = 10_000;

/**
 * The rows of a request, whatever its wire form (TF-Serving "instances" rows, TF-Serving "inputs"
 * columns, KServe V2 tensors): a value per (row, column) and the path that names it in messages.
 */
export interface RowSource {
  readonly rows: number;
  /** The raw value of `column` in `row`; undefined when the request does not carry it. */
  value(row: number, column: string): unknown;
  /** Where the value lives in the request, for messages: `instances[3].distance`, `inputs.distance[3]`. */
  path(row: number, column: string): string;
  /** Throws a BadRequestError naming the first field the model does not take. */
  rejectUnknown(fields: ReadonlySet<string>): void;
}

function unknownField(where: string, name: string, fields: ReadonlySet<string>): BadRequestError {
  return new BadRequestError(`${where} has the field ${describeName(name)}, which the model does not take; its fields are ${[...fields].join(', ')}`);
}

function checkRowCount(rows: number, what: string): void {
  if (rows === 0) throw new BadRequestError(`${what} is empty; send at least one instance`);
  if (rows > MAX_ROWS_PER_REQUEST) throw new BadRequestError(`${what} has ${rows} entries; send at most ${MAX_ROWS_PER_REQUEST} per request`);
}

/** TF-Serving's row form: `{"instances": [{column: value, ...}, ...]}`. */
export function instanceRows(instances: unknown): RowSource {
  if (!Array.isArray(instances)) throw new BadRequestError('"instances" must be an array of objects, e.g. {"instances":[{...}]}');
  checkRowCount(instances.length, '"instances"');
  const records = instances.map((instance, row) => {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw new BadRequestError(`instances[${row}] must be an object keyed by feature column, got ${describeValue(instance)}`);
    }
    return instance as Record<string, unknown>;
  });
  return {
    rows: records.length,
    value: (row, column) => (Object.prototype.hasOwnProperty.call(records[row], column) ? records[row]![column] : undefined),
    path: (row, column) => `instances[${row}].${column}`,
    rejectUnknown(fields) {
      records.forEach((record, row) => {
        for (const key in record) if (!fields.has(key)) throw unknownField(`instances[${row}]`, key, fields);
      });
    },
  };
}

/** TF-Serving's columnar form: `{"inputs": {column: [value per row], ...}}`. */
export function inputColumns(inputs: unknown): RowSource {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new BadRequestError('"inputs" must be an object of columns, e.g. {"inputs":{"distance":[1200,300],"origin":["SFO","BOS"]}}');
  }
  const columns = new Map<string, unknown[]>();
  let rows = -1;
  let first = '';
  for (const [name, values] of Object.entries(inputs as Record<string, unknown>)) {
    if (!Array.isArray(values)) throw new BadRequestError(`inputs.${describeName(name)} must be an array with a value per row, got ${describeValue(values)}`);
    if (rows === -1) {
      rows = values.length;
      first = name;
    } else if (values.length !== rows) {
      throw new BadRequestError(
        `inputs.${describeName(name)} has ${values.length} values but inputs.${first} has ${rows}; every column needs one value per row`,
      );
    }
    columns.set(name, values);
  }
  if (rows === -1) throw new BadRequestError('"inputs" has no columns; send {"inputs":{column: [values], ...}}');
  checkRowCount(rows, '"inputs"');
  return {
    rows,
    value: (row, column) => columns.get(column)?.[row],
    path: (row, column) => `inputs.${column}[${row}]`,
    rejectUnknown(fields) {
      for (const name of columns.keys()) if (!fields.has(name)) throw unknownField('"inputs"', name, fields);
    },
  };
}

/** Rows given as named columns already checked for shape (the KServe V2 tensors); `pathOf` names a value. */
export function namedColumns(columns: ReadonlyMap<string, readonly unknown[]>, rows: number, pathOf: (row: number, column: string) => string): RowSource {
  checkRowCount(rows, 'the request');
  return {
    rows,
    value: (row, column) => columns.get(column)?.[row],
    path: pathOf,
    rejectUnknown(fields) {
      for (const name of columns.keys()) if (!fields.has(name)) throw unknownField('the request', name, fields);
    },
  };
}
