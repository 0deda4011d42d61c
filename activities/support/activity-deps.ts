import type { Pool } from 'pg';
import type { ArtifactStoreSettings } from '../../lib/artifacts/artifact-store';
import { pgPool } from '../../lib/db/pg-pools';

/** What every stage's activities need from their process: where the data and artifacts are. */
export interface ActivityDeps {
  databaseUrl: string;
  /** The artifact store every pool shares (PIPEWRIGHT_ARTIFACT_STORE: a shared folder, or s3://). */
  artifactStore: ArtifactStoreSettings;
  /** Model server base URL, for the deploy stage. */
  serveUrl: string;
}

/** The process's connection pool to the pipeline database. */
export function db(deps: ActivityDeps): Pool {
  return pgPool(deps.databaseUrl);
}
