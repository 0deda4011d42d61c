import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { openArtifactStore, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { datasetOfRun } from '../../lib/registry/dataset-registry';
import { loadRunReportData, RunNotFoundError } from '../../lib/reports/run-report/load-run-report-data';
import { renderRunReport } from '../../lib/reports/run-report/render-run-report';
import type { RunReportData } from '../../lib/reports/run-report/run-report-data';
import { formatStatisticsSummary } from '../../lib/reports/statistics-report';
import type { DatasetStatisticsArtifact } from '../../lib/validation/dataset-statistics';
import { formatValidationReport, type ValidationReport } from '../../lib/validation/validation-report';
import { resolveTarget } from '../client/target';
import { commandArtifactStore } from '../stack/object-store';

export interface ReportOptions {
  /** Where to write the HTML report; `<PIPEWRIGHT_HOME>/reports/<run-id>.html` by default. */
  out?: string;
}

/** A run id as a file name: ids are workflow ids, which may hold characters a path must not. */
function reportFileName(runId: string): string {
  return `${runId.replace(/[^A-Za-z0-9._-]/g, '_')}.html`;
}

/** Writes through a temporary file and a rename, so a reader never opens half a report. */
async function writeFileAtomically(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temporary, text);
  await fs.rename(temporary, file);
}

/**
 * `pipewright report <run-id> [--out file]`: the run's dataset statistics and validation report
 * (anomalies, drift) as text, then the whole run (metrics, blessing, lineage, curves, slices,
 * importance, trials) as one self-contained HTML page, whose path it prints.
 */
export async function reportCommand(runId: string | undefined, options: ReportOptions = {}): Promise<number> {
  if (!runId) throw new Error('usage: pipewright report <run-id> [--out report.html]');
  const config = loadConfig();
  const target = await resolveTarget(config, false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL (or run `pipewright up`)');
  openArtifactStore(commandArtifactStore(config, target.s3Endpoint));
  try {
    const pool = pgPool(target.databaseUrl);
    const dataset = await datasetOfRun(pool, runId);
    if (dataset) {
      const statistics = await readArtifactJson<DatasetStatisticsArtifact>({ uri: dataset.statisticsUri });
      const validation = await readArtifactJson<ValidationReport>({ uri: dataset.validationUri });
      console.log(`Run ${runId} · pipeline ${dataset.pipeline} · source ${dataset.source}`);
      console.log(`${dataset.rows} rows ingested, ${dataset.quarantinedRows} quarantined · dataset sha256 ${dataset.sha256.slice(0, 16)}…\n`);
      console.log(formatStatisticsSummary(statistics.summary));
      console.log(`\n${formatValidationReport(validation)}`);
      console.log(`\nArtifacts: ${dataset.statisticsUri}\n           ${dataset.validationUri}\n`);
    }
    let data: RunReportData;
    try {
      data = await loadRunReportData(pool, runId);
    } catch (err) {
      if (!(err instanceof RunNotFoundError)) throw err;
      console.error(err.message);
      return 1;
    }
    if (!dataset) {
      // The run exists but stopped before validate (or ran before datasets were kept): the HTML still shows how far it got.
      console.error(`no dataset recorded for run "${runId}": it stopped before its validate stage (see pipewright status ${runId}).`);
    }
    const file = path.resolve(options.out ?? path.join(config.home, 'reports', reportFileName(runId)));
    await writeFileAtomically(file, await renderRunReport(data));
    console.log(`report: ${file}`);
    return 0;
  } finally {
    await closePgPools();
  }
}
