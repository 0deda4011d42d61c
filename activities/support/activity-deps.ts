import type { Pool } from 'pg';
import { pgPool } from '../../lib/db/pg-pools';

/** What every stage's activities need from their process: where the data and artifacts are. */
export interface ActivityDeps {
  databaseUrl: string;
  /** Root of the artifact store (file system path, shared by all pools). */
  artifactRoot: string;
  /** Model server base URL, for the deploy stage. */
  serveUrl: string;
}

/** The process's connection pool to the pipeline database. */
export function db(deps: ActivityDeps): Pool {
  return pgPool(deps.databaseUrl);
}
