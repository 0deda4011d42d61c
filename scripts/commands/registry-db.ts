import os from 'node:os';
import type { Pool } from 'pg';
import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { findRunningStack } from '../stack/stack';

/** What the registry commands talk to: the database, and the model server to tell about production moves. */
export interface RegistryConnection {
  db: Pool;
  /** Null when the running stack has no model server. */
  serveUrl: string | null;
}

/**
 * DATABASE_URL when set, else the database of the stack `pipewright up` runs for this
 * PIPEWRIGHT_HOME. Registry commands need no Temporal, so unlike `run` they do not ask for one.
 */
export async function withRegistry<T>(work: (registry: RegistryConnection) => Promise<T>): Promise<T> {
  const config = loadConfig();
  let registry: RegistryConnection;
  if (config.databaseUrl) {
    registry = { db: pgPool(config.databaseUrl), serveUrl: config.serveUrl };
  } else {
    const running = await findRunningStack(config);
    if (!running) throw new Error(`no running pipewright stack for PIPEWRIGHT_HOME=${config.home}; start one with \`pipewright up\` or set DATABASE_URL.`);
    registry = { db: pgPool(running.databaseUrl), serveUrl: running.serveUrl };
  }
  try {
    return await work(registry);
  } finally {
    await closePgPools();
  }
}

/** Who the history records for a change made from the CLI: user:<PIPEWRIGHT_USER, else the login name>. */
export function cliActor(): string {
  // PIPEWRIGHT_USER names the person behind a shared service account.
  const named = loadConfig().user;
  if (named) return `user:${named}`;
  try {
    return `user:${os.userInfo().username}`;
  } catch {
    // A uid without a passwd entry (some containers) has no name.
    return `user:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
