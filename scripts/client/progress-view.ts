import { STAGES, type PipelineProgress, type StageProgress } from '../../contracts';
import { formatSamples, type TrainingInFlight } from './training-activity';

const BAR_WIDTH = 24;
const MARKS: Record<StageProgress['status'], string> = { done: '✓', running: '▸', failed: '✗', cancelled: '⊘', skipped: '–', pending: ' ' };

function bar(done: number, total: number): string {
  const filled = total > 0 ? Math.round((BAR_WIDTH * Math.min(done, total)) / total) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
}

/** " (cached)" when every unit came from the step cache, " (3 cached)" when some did. */
function cachedNote(s: StageProgress): string {
  if (!s.cached) return '';
  return s.cached >= s.total ? ' (cached)' : ` (${s.cached} cached)`;
}

/** Training's position and figures: round, workers, examples so far, train loss, validation loss and metric. */
export function trainingNote(p: PipelineProgress, live?: TrainingInFlight): string {
  const parts: string[] = [];
  const t = p.training;
  if (t && p.stages.train.status === 'running') parts.push(`epoch ${t.epoch + 1}${t.rounds > 1 ? ` round ${t.round}/${t.rounds}` : ''}`);
  if (t && t.workers > 1) parts.push(`${t.workers} workers`);
  if (live && p.stages.train.status === 'running') parts.push(`${formatSamples(live.samples)} samples in this round`);
  const loss = p.trainLoss?.[p.trainLoss.length - 1];
  if (loss !== undefined) parts.push(`loss ${loss.toFixed(4)}`);
  const validation = p.validationLoss?.[p.validationLoss.length - 1];
  if (validation !== undefined) parts.push(`val loss ${validation.toFixed(4)}`);
  if (p.validationMetric) parts.push(`val ${p.validationMetric.name} ${p.validationMetric.value.toFixed(4)}`);
  return parts.length ? `  ${parts.join(' · ')}` : '';
}

/** One line per stage: a bar, units done, time taken. */
export function renderProgress(p: PipelineProgress, live?: TrainingInFlight): string[] {
  return STAGES.map((name) => {
    const s = p.stages[name];
    const mark = MARKS[s.status];
    const time = s.status === 'done' ? `${s.seconds.toFixed(1)}s` : '';
    const note = name === 'train' && s.status !== 'pending' ? trainingNote(p, live) : '';
    if (s.status === 'skipped') return `${mark} ${name.padEnd(9)} skipped${s.note ? `: ${s.note}` : ''}`;
    return `${mark} ${name.padEnd(9)} ${bar(s.done, s.total)} ${`${s.done}/${s.total} ${s.unit}`.padEnd(18)} ${time}${cachedNote(s)}${note}`;
  });
}

/**
 * Redraws the stage bars in place on a terminal; elsewhere (CI, pipes) prints one line whenever a
 * stage finishes, so logs stay readable.
 */
export class ProgressPrinter {
  private drawnLines = 0;
  private readonly reported = new Set<string>();
  private epochsReported = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  update(p: PipelineProgress, live?: TrainingInFlight): void {
    if (this.out.isTTY) {
      const lines = renderProgress(p, live);
      if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}A`);
      for (const line of lines) this.out.write(`\x1b[2K${line}\n`);
      this.drawnLines = lines.length;
      return;
    }
    const train = p.stages.train;
    if (train.status === 'running' && train.unit === 'epochs' && train.done > this.epochsReported) {
      this.epochsReported = train.done;
      this.out.write(`  train epoch ${train.done}/${train.total}:${trainingNote(p)}\n`);
    }
    for (const name of STAGES) {
      const s = p.stages[name];
      if (s.status === 'skipped' && !this.reported.has(name)) {
        this.reported.add(name);
        this.out.write(`${MARKS[s.status]} ${name}: skipped${s.note ? ` (${s.note})` : ''}\n`);
      }
      if ((s.status === 'done' || s.status === 'failed' || s.status === 'cancelled') && !this.reported.has(name)) {
        this.reported.add(name);
        this.out.write(
          `${MARKS[s.status]} ${name}: ${s.done}/${s.total} ${s.unit}${s.status === 'done' ? ` in ${s.seconds.toFixed(1)}s${cachedNote(s)}` : ` (${s.status})`}${name === 'train' ? trainingNote(p) : ''}\n`,
        );
      }
    }
  }
}
