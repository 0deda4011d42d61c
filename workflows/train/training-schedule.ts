import type { CheckpointRef } from '../../contracts';

/**
 * Pure arithmetic of the training loop, kept apart from the workflow so it is unit-tested
 * directly: how a round's batches are cut, and when early stopping ends training.
 */

/** The half-open batch range [from, to) of round `round` of `rounds` over `batches` batches: as equal as integers allow. */
export function roundRange(batches: number, round: number, rounds: number): { fromBatch: number; toBatch: number } {
  if (round < 0 || round >= rounds) throw new RangeError(`round ${round} is outside 0..${rounds - 1}`);
  return { fromBatch: Math.floor((round * batches) / rounds), toBatch: Math.floor(((round + 1) * batches) / rounds) };
}

export interface BestEpoch {
  epoch: number;
  loss: number;
  checkpoint: CheckpointRef;
}

/**
 * One epoch's early-stopping decision (as Keras' EarlyStopping on val_loss): an epoch whose
 * validation loss beats the best by more than minDelta becomes the best; training stops once
 * `patience` epochs have passed since the best without one.
 */
export function earlyStoppingStep(
  rule: { patience: number; minDelta: number },
  best: BestEpoch | undefined,
  now: BestEpoch,
): { best?: BestEpoch; stop: boolean } {
  if (best === undefined || now.loss < best.loss - rule.minDelta) return { best: now, stop: false };
  return { stop: now.epoch - best.epoch >= rule.patience };
}
