import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../random';
import type { PipelineSpec } from '../spec/pipeline-spec';
import { hiddenLayersOf } from '../spec/model-spec';

/** The spec's network: `hidden` ReLU layers (none for logistic) and a sigmoid output, seeded initialisers. */
export function buildModel(spec: PipelineSpec['model'], inputDim: number): tfl.Sequential {
  const hidden = hiddenLayersOf(spec).map((l) => l.units);
  const model = tfl.sequential();
  hidden.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        ...(i === 0 ? { inputShape: [inputDim] } : {}),
        units,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(spec.seed, 'init', i) }),
      }),
    );
  });
  model.add(
    tfl.layers.dense({
      ...(hidden.length === 0 ? { inputShape: [inputDim] } : {}),
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(spec.seed, 'init', hidden.length) }),
    }),
  );
  return model;
}
