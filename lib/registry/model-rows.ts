import type { ClientBase } from 'pg';
import type { Blessing, ImportanceResult } from '../../contracts/evaluation';
import type { EvaluationMetrics } from '../../contracts/refs';
import type { CrossValidationResult } from '../../contracts/cross-validation';
import type { ModelLineage, TrainingCurves } from '../../contracts/stages';
import type { SearchSummary } from '../../contracts/tuning';

/** A pg Pool or a client inside a transaction: the registry's reads run on either. */
export type Queryable = Pick<ClientBase, 'query'>;

/** One registered version of a model, with the aliases that point at it. */
export interface ModelVersionRow {
  name: string;
  version: number;
  runId: string;
  /** Kept in step with the production alias for readers written before aliases (production / archived). */
  stage: 'registered' | 'production' | 'archived';
  backend: string;
  metrics: EvaluationMetrics;
  modelUri: string;
  modelSha256: string;
  transformUri: string;
  transformSha256: string;
  datasetSha256: string;
  createdAt: Date;
  /** When the version first became production. */
  deployedAt: Date | null;
  /** The aliases (production, candidate, user aliases) that point at this version now, sorted. */
  aliases: string[];
  /** Null for versions registered before these were kept. */
  lineage: ModelLineage | null;
  blessing: Blessing | null;
  evaluationUri: string | null;
  importance: ImportanceResult | null;
  training: TrainingCurves | null;
  crossValidation: CrossValidationResult | null;
  search: SearchSummary | null;
}

export interface ModelVersionDbRow {
  name: string;
  version: number;
  run_id: string;
  stage: ModelVersionRow['stage'];
  backend: string;
  metrics: EvaluationMetrics;
  model_uri: string;
  model_sha256: string;
  transform_uri: string;
  transform_sha256: string;
  dataset_sha256: string;
  created_at: Date;
  deployed_at: Date | null;
  // Optional: rows from before migration 5, and stand-in registries in tests, lack them.
  aliases?: string[] | null;
  lineage?: ModelLineage | null;
  blessing?: Blessing | null;
  evaluation_uri?: string | null;
  importance?: ImportanceResult | null;
  training?: TrainingCurves | null;
  cross_validation?: CrossValidationResult | null;
  search?: SearchSummary | null;
}

export function versionFromDb(r: ModelVersionDbRow): ModelVersionRow {
  return {
    name: r.name,
    version: r.version,
    runId: r.run_id,
    stage: r.stage,
    backend: r.backend,
    metrics: r.metrics,
    modelUri: r.model_uri,
    modelSha256: r.model_sha256,
    transformUri: r.transform_uri,
    transformSha256: r.transform_sha256,
    datasetSha256: r.dataset_sha256,
    createdAt: r.created_at,
    deployedAt: r.deployed_at,
    aliases: r.aliases ?? [],
    lineage: r.lineage ?? null,
    blessing: r.blessing ?? null,
    evaluationUri: r.evaluation_uri ?? null,
    importance: r.importance ?? null,
    training: r.training ?? null,
    crossValidation: r.cross_validation ?? null,
    search: r.search ?? null,
  };
}

/**
 * The version columns (not the spec, which can be large and is read from the run log) plus the
 * aliases pointing at each version. Callers add WHERE / ORDER BY on `v`.
 */
export const SELECT_VERSIONS = `
  SELECT v.name, v.version, v.run_id, v.stage, v.backend, v.metrics, v.model_uri, v.model_sha256,
         v.transform_uri, v.transform_sha256, v.dataset_sha256, v.created_at, v.deployed_at,
         v.lineage, v.blessing, v.evaluation_uri, v.importance, v.training, v.cross_validation, v.search,
         ARRAY(SELECT a.alias FROM pipewright_model_aliases a WHERE a.name = v.name AND a.version = v.version ORDER BY a.alias) AS aliases
    FROM pipewright_model_versions v`;
