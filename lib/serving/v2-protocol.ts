import type { ClassPrediction, LabelHead } from '../features/label-task';
import type { FittedTransform } from '../features/transform';
import { BadRequestError } from './bad-request';
import { describeName, describeValue } from './describe-value';
import { instanceFields, type InstanceFieldType } from './instances';
import { namedColumns, type RowSource } from './row-source';

/**
 * KServe V2 / Open Inference Protocol, JSON over REST: the request's tensors are the raw columns
 * (one 1-D tensor, or N×1, per field), transformed in the server as the training pipeline did.
 */

const NUMERIC_TYPES = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64']);
const ALL_TYPES = new Set([...NUMERIC_TYPES, 'BYTES']);

/** The V2 datatype a raw field is sent as. Timestamps go as BYTES (ISO-8601) or INT64 (epoch milliseconds). */
function datatypeOf(type: InstanceFieldType): string {
  return type === 'number' ? 'FP64' : 'BYTES';
}

function accepts(type: InstanceFieldType, datatype: string): boolean {
  if (type === 'number') return NUMERIC_TYPES.has(datatype) && datatype !== 'BOOL';
  if (type === 'string') return datatype === 'BYTES';
  return datatype === 'BYTES' || datatype === 'INT64' || datatype === 'FP64';
}

export interface V2Request {
  source: RowSource;
  id?: string;
  /** Output names the client asked for; all when absent. */
  outputs?: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a V2 inference request against the model's fields and reads it as rows. */
export function readV2Request(body: unknown, transform: FittedTransform): V2Request {
  if (!isObject(body))
    throw new BadRequestError(
      'the request body must be a JSON object with an "inputs" array, e.g. {"inputs":[{"name":…,"shape":[1],"datatype":"FP64","data":[…]}]}',
    );
  const { id, inputs, outputs } = body;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 128)) {
    throw new BadRequestError(`"id" must be a string of 1 to 128 characters, got ${describeValue(id)}`);
  }
  if (!Array.isArray(inputs) || inputs.length === 0) throw new BadRequestError(`"inputs" must be a non-empty array of tensors, got ${describeValue(inputs)}`);
  const fields = new Map(instanceFields(transform).map((f) => [f.field, f]));
  const columns = new Map<string, unknown[]>();
  let rows = -1;
  let firstName = '';
  inputs.forEach((input, i) => {
    const where = `inputs[${i}]`;
    if (!isObject(input)) throw new BadRequestError(`${where} must be an object {"name","shape","datatype","data"}, got ${describeValue(input)}`);
    const { name, shape, datatype, data } = input;
    if (typeof name !== 'string') throw new BadRequestError(`${where}.name must be a string, got ${describeValue(name)}`);
    const field = fields.get(name);
    if (!field)
      throw new BadRequestError(`${where} is named ${describeName(name)}, which the model does not take; its inputs are ${[...fields.keys()].join(', ')}`);
    if (columns.has(name)) throw new BadRequestError(`${where}: the input "${name}" is given twice`);
    if (typeof datatype !== 'string' || !ALL_TYPES.has(datatype)) {
      throw new BadRequestError(`${where}.datatype must be one of ${[...ALL_TYPES].join(', ')}, got ${describeValue(datatype)}`);
    }
    if (!accepts(field.type, datatype)) {
      const hint = field.type === 'timestamp' ? 'BYTES (ISO-8601) or INT64 (epoch milliseconds)' : datatypeOf(field.type);
      throw new BadRequestError(`${where} ("${name}") is ${datatype}, but "${name}" is a ${field.type} field: send it as ${hint}`);
    }
    if (
      !Array.isArray(shape) ||
      shape.length === 0 ||
      shape.length > 2 ||
      !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ||
      (shape.length === 2 && shape[1] !== 1)
    ) {
      throw new BadRequestError(`${where}.shape must be [rows] or [rows, 1], got ${describeValue(shape)}`);
    }
    if (!Array.isArray(data)) throw new BadRequestError(`${where}.data must be an array, got ${describeValue(data)}`);
    // V2 allows the data nested as its shape; a [rows, 1] tensor may come as [[v], [v], ...].
    const values =
      shape.length === 2 && data.length > 0 && Array.isArray(data[0]) ? data.map((v) => (Array.isArray(v) && v.length === 1 ? (v[0] as unknown) : v)) : data;
    const n = shape[0] as number;
    if (values.length !== n) throw new BadRequestError(`${where} ("${name}") has shape ${JSON.stringify(shape)} but ${values.length} values`);
    if (rows === -1) {
      rows = n;
      firstName = name;
    } else if (n !== rows) {
      throw new BadRequestError(`${where} ("${name}") has ${n} rows but "${firstName}" has ${rows}; every input needs one value per row`);
    }
    columns.set(name, values);
  });
  for (const field of fields.values()) {
    if (!field.optional && !columns.has(field.field)) {
      throw new BadRequestError(`the request has no input "${field.field}" (${field.type}); the model's inputs are ${[...fields.keys()].join(', ')}`);
    }
  }
  const names = [...columns.keys()];
  const source = namedColumns(columns, rows, (row, column) => `inputs[${names.indexOf(column)}] ("${column}") data[${row}]`);
  return { source, ...(id !== undefined ? { id } : {}), ...(outputs !== undefined ? { outputs: requestedOutputs(outputs) } : {}) };
}

function requestedOutputs(outputs: unknown): string[] {
  if (!Array.isArray(outputs)) throw new BadRequestError(`"outputs" must be an array of {"name": …}, got ${describeValue(outputs)}`);
  return outputs.map((o, i) => {
    if (!isObject(o) || typeof o.name !== 'string') throw new BadRequestError(`outputs[${i}] must be {"name": "<output>"}, got ${describeValue(o)}`);
    return o.name;
  });
}

export interface V2Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: Array<number | string>;
}

/** The output tensors of a model head, described for metadata. */
export function outputTensorsOf(head: LabelHead): Array<{ name: string; datatype: string; shape: number[] }> {
  switch (head.task) {
    case 'binary':
      return [{ name: 'probability', datatype: 'FP32', shape: [-1] }];
    case 'regression':
      return [{ name: 'prediction', datatype: 'FP64', shape: [-1] }];
    case 'multiclass':
      return [
        { name: 'class', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, head.units] },
      ];
  }
}

/** The outputs of `rows` rows as V2 tensors; `wanted` keeps only the named ones (an unknown name is a 400; none named: all). */
export function v2Outputs(head: LabelHead, predictions: ReadonlyArray<number | ClassPrediction>, wanted?: string[]): V2Tensor[] {
  const rows = predictions.length;
  let tensors: V2Tensor[];
  if (head.task === 'multiclass') {
    const classes = head.classes!;
    const probabilities: number[] = [];
    for (const p of predictions as ClassPrediction[]) for (const c of classes) probabilities.push(p.probabilities[c]!);
    tensors = [
      { name: 'class', datatype: 'BYTES', shape: [rows], data: (predictions as ClassPrediction[]).map((p) => p.class) },
      { name: 'probabilities', datatype: 'FP32', shape: [rows, classes.length], data: probabilities },
    ];
  } else {
    const [spec] = outputTensorsOf(head);
    tensors = [{ name: spec!.name, datatype: spec!.datatype, shape: [rows], data: predictions as number[] }];
  }
  if (!wanted || wanted.length === 0) return tensors;
  return wanted.map((name) => {
    const tensor = tensors.find((t) => t.name === name);
    if (!tensor) throw new BadRequestError(`the model has no output ${describeName(name)}; its outputs are ${tensors.map((t) => t.name).join(', ')}`);
    return tensor;
  });
}

/** `GET /v2/models/{name}[/versions/{v}]`: the V2 model metadata, plus the task and what the output means. */
export function v2Metadata(name: string, version: number, transform: FittedTransform, head: LabelHead, output: string): Record<string, unknown> {
  return {
    name,
    versions: [String(version)],
    platform: 'pipewright_tfjs',
    inputs: instanceFields(transform).map((f) => ({
      name: f.field,
      datatype: datatypeOf(f.type),
      shape: [-1],
      parameters: { type: f.type, ...(f.optional ? { optional: true } : {}) },
    })),
    outputs: outputTensorsOf(head),
    parameters: { task: head.task, output, ...(head.classes ? { classes: head.classes } : {}) },
  };
}
