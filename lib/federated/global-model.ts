import type { InitGlobalModelInput, InitGlobalModelResult } from '../../contracts/federated';
import { openArtifactStore, readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { labelHead } from '../features/label-task';
import type { FittedTransform } from '../features/transform';
import { initBackend } from '../models/backend';
import { buildModel } from '../models/build-model';
import { saveModel, type SavedModel } from '../models/model-io';
import { weightVector } from './model-vector';

export type InitGlobalModelTask = InitGlobalModelInput & { artifactStore: ArtifactStoreSettings };

/**
 * The global model before round 1: the spec's model built on the agreed transform with the spec's
 * seed, so every run of the same spec starts from the same weights. Saved without optimizer state:
 * each site's optimizer is its own and starts afresh every round.
 */
export async function initGlobalModel(input: InitGlobalModelTask): Promise<InitGlobalModelResult> {
  const backend = await initBackend(undefined, { batchSize: input.model.batchSize });
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const model = buildModel(input.model, transform, labelHead(transform));
  const store = openArtifactStore(input.artifactStore);
  const saved = await saveModel(store, 'checkpoints', model);
  model.dispose();
  const length = weightVector(await readArtifactJson<SavedModel>(saved)).length;
  return { checkpoint: { ...saved, epoch: 0 }, length, backend };
}
