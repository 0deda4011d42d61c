/**
 * With payload keys set, what Temporal stores is ciphertext: the whole pipeline (parent and its
 * children) runs through the encryption codec on a real dev server, and the raw history, read
 * without the codec, holds no spec, metric or artifact ref in clear. Search attributes stay clear
 * on purpose (they are indexed for the Web UI's filters).
 */
import { Client } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type DataConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { ENCRYPTED_ENCODING, EncryptionCodec } from '../../contracts/payload-codec';
import { parsePayloadKeys } from '../../lib/codec/payload-keys';
import { trainingPipelineStart } from '../../scripts/client/pipeline-client';
import type { trainingPipeline } from '../../workflows';
import { fakeActivities, FAKE_METRICS, flightsSpec, sameQueueForEveryPool, uniqueName, useWorkflowEnvironment } from './helpers';

const suite = useWorkflowEnvironment();
const KEYS = `k-test:${Buffer.alloc(32, 5).toString('base64')}`;
const encrypted: DataConverter = { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(KEYS, 'test'))] };

type RawPayload = temporal.api.common.v1.IPayload;

/**
 * Every Payload message, with where it sits, inside a decoded history event (inputs, results, memos, headers, failures'
 * details, the Web UI's summary and details), except search attributes, which stay clear by design.
 */
function payloadsIn(value: unknown, path = '', out: Array<{ path: string; payload: RawPayload }> = []): Array<{ path: string; payload: RawPayload }> {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if ('data' in value && 'metadata' in value && value.data instanceof Uint8Array) {
    out.push({ path, payload: value as RawPayload });
    return out;
  }
  for (const [key, child] of Object.entries(value)) if (key !== 'searchAttributes') payloadsIn(child, `${path}.${key}`, out);
  return out;
}

async function rawHistory(client: Client, workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId }, nextPageToken });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

test('a pipeline run with payload keys leaves only ciphertext in the stored histories', async () => {
  // A table name found nowhere else (the pipeline and model names are search attributes, clear by design).
  const base = flightsSpec();
  const spec = { ...base, source: { ...base.source, table: 'patients_east_2026' } } as typeof base;
  const taskQueue = uniqueName('encrypted');
  const { activities } = fakeActivities();
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: suite.bundle,
    activities,
    dataConverter: encrypted,
  });
  const client = new Client({ connection: suite.env.connection, namespace: 'default', dataConverter: encrypted });
  const start = trainingPipelineStart(spec);
  const handle = await client.workflow.start<typeof trainingPipeline>('trainingPipeline', {
    ...start,
    taskQueue,
    workflowId: taskQueue,
    args: [{ ...start.args[0], queues: sameQueueForEveryPool(taskQueue) }],
  });
  const result = await worker.runUntil(handle.result());
  // Through the codec, everything reads as usual.
  expect(result.metrics).toMatchObject({ auc: FAKE_METRICS.auc });

  // Read back without the codec: the parent and every child it started.
  const plain = suite.env.client;
  const parent = await rawHistory(plain, taskQueue);
  const children = parent.flatMap((e) =>
    e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId
      ? [e.childWorkflowExecutionStartedEventAttributes.workflowExecution.workflowId]
      : [],
  );
  expect(children.length).toBeGreaterThan(0);
  const histories = [parent, ...(await Promise.all(children.map((id) => rawHistory(plain, id))))];

  let payloadCount = 0;
  for (const events of histories) {
    for (const event of events) {
      const payloads = payloadsIn(event);
      payloadCount += payloads.length;
      // Patch markers name a code change (workflows' patched() ids), written by the SDK's core, not user data.
      const clear = payloads.filter(
        (p) => !p.path.includes('.patch-data.') && Buffer.from(p.payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCRYPTED_ENCODING,
      );
      expect(clear.map((p) => p.path)).toEqual([]);
    }
    const bytes = Buffer.from(temporal.api.history.v1.History.encode({ events }).finish()).toString('latin1');
    // The spec (its table, columns and the Web UI details), a metric, an artifact ref: none in clear.
    for (const clear of ['patients_east_2026', 'greaterThan', 'destination', 'file:///fake/', String(FAKE_METRICS.logLoss), 'Spec:']) {
      expect({ clear, found: bytes.includes(clear) }).toEqual({ clear, found: false });
    }
  }
  // Inputs, results, memos, heartbeats: enough payloads that the check above means something.
  expect(payloadCount).toBeGreaterThan(20);

  // Without the key, the result cannot be read, and the error says which key is missing.
  const stranger = new Client({
    connection: suite.env.connection,
    namespace: 'default',
    dataConverter: { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(`other:${Buffer.alloc(32, 6).toString('base64')}`, 'test'))] },
  });
  await expect(stranger.workflow.getHandle(taskQueue).result()).rejects.toThrow('key id "k-test", which this process does not have');
});
