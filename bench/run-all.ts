import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench`: runs every benchmark in its own process (so none inherits another's heap, JIT
 * state or TensorFlow backend), then rewrites the results table in bench/README.md from
 * bench/results/*.json. `npm run bench -- ingest-vs-copy` runs only the named ones.
 */
const BENCHMARKS = [
  'ingest-vs-copy',
  'data-plane',
  'train-backends',
  'training',
  'pipeline-overhead',
  'evaluation',
  'serving',
  'artifact-store',
  'cluster-orchestration',
  'cluster-pipeline-overhead',
  'multi-host',
  'federated',
] as const;

interface Recorded {
  name: string;
  at: string;
  machine: { cpus: number; cpuModel?: string; memoryGiB: number; node: string };
  result: Record<string, unknown> & { headline?: string };
}

const benchDir = path.join(__dirname, '..', '..', 'bench');

function run(names: readonly string[]): boolean {
  let ok = true;
  for (const name of names) {
    const entry = path.join(__dirname, `${name}.js`);
    if (!existsSync(entry)) {
      console.error(`no benchmark "${name}" (looked for ${entry}); known: ${BENCHMARKS.join(', ')}`);
      ok = false;
      continue;
    }
    console.log(`\n== ${name}`);
    const status = spawnSync(process.execPath, [entry], { stdio: 'inherit', env: process.env }).status;
    if (status !== 0) {
      console.error(`${name} failed (exit ${status})`);
      ok = false;
    }
  }
  return ok;
}

/** The table between the markers in bench/README.md, one row per recorded result. */
function renderTable(): void {
  const resultsDir = path.join(benchDir, 'results');
  const records: Recorded[] = existsSync(resultsDir)
    ? readdirSync(resultsDir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as Recorded)
    : [];
  const rows = records.map(
    (r) =>
      `| ${r.name} | ${r.result.headline ?? '(see JSON)'} | ${r.at.slice(0, 10)} | ${r.machine.cpus} × ${r.machine.cpuModel ?? '?'}, ${r.machine.memoryGiB} GiB, node ${r.machine.node} |`,
  );
  const table = ['| benchmark | result | date | machine |', '|---|---|---|---|', ...rows].join('\n');
  const readme = path.join(benchDir, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const begin = '<!-- results:begin -->';
  const end = '<!-- results:end -->';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${readme} lacks the ${begin} … ${end} markers`);
  writeFileSync(readme, `${text.slice(0, from + begin.length)}\n${table}\n${text.slice(to)}`);
  console.log(`\nupdated bench/README.md (${records.length} results)`);
}

const wanted = process.argv.slice(2);
const ok = run(wanted.length ? wanted : BENCHMARKS);
renderTable();
process.exit(ok ? 0 : 1);
