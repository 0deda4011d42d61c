import { setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { rolloutProgressQuery, type RolloutInput, type RolloutProgress, type RolloutResult, type RolloutStats, type SetRolloutInput } from '../../contracts';
import { stageActivities } from '../support/stage-activities';
import { judgeRollout } from './rollout-verdict';

/**
 * A release of one registered version, on the deploy pool: check that it loads and answers a
 * typical instance; route a canary share of live traffic to it (or score live traffic beside
 * production in shadow mode); compare it with production every few seconds over the window; then
 * promote it, or roll it back on its own as soon as it is worse than the policy allows. The reason,
 * with its figures, is recorded in the alias history (the `canary` alias) and the result. Every
 * step is idempotent, so the workflow can be retried or run again for the same version.
 */
export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const { model, version, policy, actor } = input;
  const release = stageActivities('release', input.queues);
  const startedAt = Date.now();
  const progress: RolloutProgress = { phase: 'checking', elapsedSeconds: 0, stats: null, verdict: null };
  setHandler(rolloutProgressQuery, () => ({ ...progress, elapsedSeconds: (Date.now() - startedAt) / 1000 }));
  const who = `${actor} via ${workflowInfo().workflowId}`;

  const finish = async (outcome: 'promote' | 'rollback', reason: string, stats: RolloutStats | null): Promise<RolloutResult> => {
    progress.phase = 'finishing';
    const { production } = await release.finishRollout({ model, version, outcome, reason, actor: who });
    progress.phase = 'done';
    return { model, version, mode: policy.mode, outcome: outcome === 'promote' ? 'promoted' : 'rolled_back', reason, stats, production };
  };

  const check = await release.checkCandidate({ model, version });
  if (!check.ok) return finish('rollback', check.reason ?? 'the candidate failed its check', null);

  const set: SetRolloutInput = { model, version, mode: policy.mode, share: policy.share, actor: who };
  progress.stats = await release.startRollout(set);
  progress.phase = 'watching';
  for (;;) {
    await sleep(policy.checkEverySeconds * 1000);
    const stats = await release.rolloutStats(set);
    const windowOver = Date.now() - startedAt >= policy.windowSeconds * 1000;
    const verdict = judgeRollout(stats, policy, windowOver);
    progress.stats = stats;
    progress.verdict = verdict;
    if (verdict.decision !== 'wait') return finish(verdict.decision, verdict.reason, stats);
  }
}
