import { STAGES, type PipelineProgress, type StageProgress } from '../../contracts';
import { renderProgress, trainingNote } from '../../scripts/client/progress-view';
import { formatSamples } from '../../scripts/client/training-activity';

const stage = (status: StageProgress['status'], done: number, total: number, unit = 'step'): StageProgress => ({ status, done, total, unit, seconds: 0 });

function progress(fields: Partial<PipelineProgress>): PipelineProgress {
  const stages = Object.fromEntries(STAGES.map((s) => [s, stage('done', 1, 1)])) as PipelineProgress['stages'];
  stages.train = stage('running', 1, 3, 'epochs');
  return { pipeline: 'flights', model: 'flights', stage: 'train', stages, ...fields };
}

describe('the training line of the progress view', () => {
  test('shows the epoch and round running, the workers, the examples so far, and the latest losses and validation metric', () => {
    const p = progress({
      training: { epoch: 1, round: 1, rounds: 2, workers: 2 },
      trainLoss: [0.52, 0.48],
      validationLoss: [0.5],
      validationMetric: { name: 'auc', value: 0.7412 },
    });
    expect(trainingNote(p, { workers: 2, samples: 1_234_567 })).toBe(
      '  epoch 2 round 1/2 · 2 workers · 1.23M samples in this round · loss 0.4800 · val loss 0.5000 · val auc 0.7412',
    );
    expect(renderProgress(p).find((line) => line.includes('train'))).toContain('1/3 epochs');
  });

  test('a finished training shows its figures without a position', () => {
    const p = progress({ training: { epoch: 2, round: 1, rounds: 1, workers: 1 }, trainLoss: [0.5, 0.45, 0.44] });
    p.stages.train = stage('done', 3, 3, 'epochs');
    expect(trainingNote(p)).toBe('  loss 0.4400');
  });

  test('examples are counted in k and M', () => {
    expect([formatSamples(512), formatSamples(40_960), formatSamples(2_400_000)]).toEqual(['512', '41k', '2.40M']);
  });
});
