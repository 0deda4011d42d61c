import type { FitFederatedTransformInput, SiteStatisticsInput, SiteStatisticsResult } from '../../contracts/federated';
import type { TransformRef } from '../../contracts/refs';
import { openArtifactStore, readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { collectTransformStatistics, fitTransformFromStatistics, type TransformStatisticsPayload } from '../features/federated-fit';

export type SiteStatisticsTask = SiteStatisticsInput & { artifactStore: ArtifactStoreSettings; exchangeStore: ArtifactStoreSettings };

/**
 * A site's share of agreeing on the transform: one pass over its own train rows into mergeable
 * statistics (counts, moments, value distributions), which go to the exchange store. Its rows stay.
 */
export async function siteTransformStatistics(input: SiteStatisticsTask, progress: (rows: number) => void): Promise<SiteStatisticsResult> {
  const payload = await collectTransformStatistics({ artifactStore: input.artifactStore, spec: input.spec, shards: input.shards }, progress);
  const statistics = await openArtifactStore(input.exchangeStore).putJson('federated-statistics', payload);
  return { statistics, rows: payload.rows };
}

export type FitFederatedTransformTask = FitFederatedTransformInput & { artifactStore: ArtifactStoreSettings };

/** The coordinator's fit: every site's statistics merged in site order, fitted once; every site then encodes with it. */
export async function fitFederatedTransform(input: FitFederatedTransformTask): Promise<TransformRef> {
  const parts = await Promise.all(
    input.parts.map(async (p) => ({ site: p.site, statistics: await readArtifactJson<TransformStatisticsPayload>(p.statistics) })),
  );
  const fitted = fitTransformFromStatistics(input.spec, parts);
  const ref = await openArtifactStore(input.artifactStore).putJson('transforms', fitted);
  return { ...ref, inputDim: fitted.inputDim, trainRows: fitted.trainRows };
}
