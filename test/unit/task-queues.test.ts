import { ACTIVITY_STAGES, poolQueues, STAGE_POOL, taskQueue, WORKER_POOLS, workerIdentity } from '../../contracts';
import { STAGE_ACTIVITY_OPTIONS } from '../../workflows/support/stage-activities';
import { activitiesOfPool, stagesOfPool } from '../../workers/pool-activities';

const deps = { databaseUrl: 'postgres://unused', artifactStore: { url: 'file:///unused' }, serveUrl: 'http://unused' };

describe('task queues', () => {
  test('a prefix names every pool\'s queue, "pipewright-" by default', () => {
    expect(taskQueue('cpu', 'staging-')).toBe('staging-cpu');
    expect(taskQueue('gpu', '')).toBe('gpu');
    expect(taskQueue('orchestrator')).toBe('pipewright-orchestrator');
    expect(poolQueues('p-')).toEqual({ orchestrator: 'p-orchestrator', cpu: 'p-cpu', gpu: 'p-gpu', eval: 'p-eval', deploy: 'p-deploy' });
  });

  test('gives every pool its own queue', () => {
    expect([...WORKER_POOLS]).toEqual(['orchestrator', 'cpu', 'gpu', 'eval', 'deploy']);
    expect(new Set(Object.values(poolQueues())).size).toBe(WORKER_POOLS.length);
  });

  test('a worker names its pool, host and process, as the Web UI shows it', () => {
    expect(workerIdentity('gpu', 'node-7', 4242)).toBe('gpu@node-7:4242');
  });
});

describe('pools and stages', () => {
  test('each pool registers exactly the activities of the stages STAGE_POOL gives it', () => {
    expect(stagesOfPool('cpu')).toEqual(['ingest', 'validate', 'transform', 'federate']);
    expect(stagesOfPool('gpu')).toEqual(['train']);
    expect(stagesOfPool('eval')).toEqual(['evaluate', 'monitor']);
    expect(stagesOfPool('deploy')).toEqual(['registry', 'deploy', 'release']);
    expect(stagesOfPool('orchestrator')).toEqual([]);
    expect(Object.keys(activitiesOfPool('cpu', deps)).sort()).toEqual([
      'aggregateRound',
      'applyTransform',
      'checkDataset',
      'fitFederatedTransform',
      'fitTransform',
      'ingestPartition',
      'initGlobalModel',
      'planFolds',
      'planIngest',
    ]);
    expect(Object.keys(activitiesOfPool('gpu', deps)).sort()).toEqual(['mergeRound', 'planTraining', 'trainEpoch', 'trainShards']);
    expect(Object.keys(activitiesOfPool('eval', deps)).sort()).toEqual([
      'checkServingDrift',
      'evaluateModel',
      'evaluateShard',
      'mergeEvaluation',
      'permutationImportance',
      'recordAlert',
    ]);
    expect(Object.keys(activitiesOfPool('deploy', deps)).sort()).toEqual([
      'checkCandidate',
      'deployModel',
      'finishRollout',
      'productionBaseline',
      'recordRunFinished',
      'recordRunStarted',
      'registerModel',
      'rolloutStats',
      'startRollout',
    ]);
  });

  test('no activity name is registered by two pools, so a queue never receives a task its pool cannot run', () => {
    const names = WORKER_POOLS.flatMap((pool) => Object.keys(activitiesOfPool(pool, deps)));
    expect(new Set(names).size).toBe(names.length);
  });

  test('every stage has activity options and a pool that is not the orchestrator', () => {
    expect(Object.keys(STAGE_ACTIVITY_OPTIONS).sort()).toEqual([...ACTIVITY_STAGES].sort());
    for (const stage of ACTIVITY_STAGES) {
      expect(STAGE_POOL[stage]).not.toBe('orchestrator');
      expect(STAGE_ACTIVITY_OPTIONS[stage].startToCloseTimeout).toBeDefined();
      expect(STAGE_ACTIVITY_OPTIONS[stage].retry?.nonRetryableErrorTypes).toContain('PipelineInputError');
    }
  });
});
