import { createHash } from 'node:crypto';
import type { ModelLineage } from '../../contracts/stages';
import { codeRelease, codeVersion } from '../cache/code-version';
import type { PipelineSpec } from '../spec/pipeline-spec';

/** sha256 of the parsed spec's JSON (zod gives its keys in schema order, so the same spec hashes the same). */
export function specSha256(spec: PipelineSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

/** What made a model: the data, the fitted transform, the spec, this process's code, the seeds and the backend. */
export function modelLineage(spec: PipelineSpec, hashes: { datasetSha256: string; transformSha256: string }, backend: string): ModelLineage {
  const release = codeRelease();
  return {
    datasetSha256: hashes.datasetSha256,
    transformSha256: hashes.transformSha256,
    specSha256: specSha256(spec),
    codeVersion: codeVersion(),
    packageVersion: release.packageVersion,
    ...(release.gitCommit ? { gitCommit: release.gitCommit } : {}),
    seeds: { split: spec.split.seed, model: spec.model.seed },
    backend,
  };
}
