import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { connectClient } from '../../scripts/client/pipeline-client';
import type { StackInfo } from '../../scripts/stack/stack';

/** The stack global-setup.js started, and handles to it. */
export interface TestStack {
  info: StackInfo;
  home: string;
  /** Environment that points the CLI at this stack. */
  env: Record<string, string>;
  client: Client;
  db: Pool;
  close(): Promise<void>;
}

export async function openTestStack(): Promise<TestStack> {
  const home = process.env.PIPEWRIGHT_IT_HOME;
  if (!home) throw new Error('integration tests need the stack from test/integration/global-setup.js');
  const info = JSON.parse(readFileSync(path.join(home, 'stack.json'), 'utf8')) as StackInfo;
  const client = await connectClient(info.temporalAddress, info.namespace);
  const db = pgPool(info.databaseUrl);
  return {
    info,
    home,
    env: JSON.parse(process.env.PIPEWRIGHT_IT_ENV!) as Record<string, string>,
    client,
    db,
    close: async () => {
      await client.connection.close();
      await closePgPools();
    },
  };
}

/**
 * examples/flights.json pointed at `table`, with overrides merged in. Its evaluation section is left
 * out unless an override gives one: tests train many "flights" versions on tables of different
 * sizes, and a blessing against whichever ran before would make their outcome depend on test order.
 */
export function flightsSpec(table: string, overrides: Record<string, unknown> = {}): PipelineSpec {
  const { evaluation: _evaluation, ...base } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const source = { ...(base.source as object), table, partitions: 3 };
  return parsePipelineSpec({ ...base, source, ...overrides });
}
