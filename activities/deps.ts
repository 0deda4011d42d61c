import type { Pool } from 'pg';
import { poolFor } from '../lib/data/db';

/** What every pool's activities need from their process: where the data and artifacts are. */
export interface ActivityDeps {
  databaseUrl: string;
  /** Root of the artifact store (file system path, shared by all pools). */
  artifactRoot: string;
  /** Model server base URL, for the deploy pool. */
  serveUrl: string;
}

export function dbOf(deps: ActivityDeps): Pool {
  return poolFor(deps.databaseUrl);
}
