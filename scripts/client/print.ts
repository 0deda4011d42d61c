import type { TrainingPipelineResult } from '../../contracts';
import { formatClassMetrics, formatMetrics } from '../../lib/evaluation/metrics-summary';
import { crossValidationLine, searchLine } from './evaluation-lines';
import { redact } from '../stack/postgres';
import type { StackInfo } from '../stack/stack';

export function printStackInfo(info: StackInfo, home: string): void {
  console.log('\npipewright is up:');
  console.log(`  Temporal      ${info.temporalAddress} (namespace ${info.namespace})`);
  if (info.uiUrl) console.log(`  Web UI        ${info.uiUrl}`);
  console.log(`  PostgreSQL    ${redact(info.databaseUrl)}  (\`pipewright db\` prints it with the password; \`pipewright db --psql\` opens psql)`);
  if (info.serveUrl)
    console.log(
      `  Model server  ${info.serveUrl}/v2/models/{name}/infer (KServe V2), ${info.serveUrl}/v1/models/{name}:predict (TF-Serving), ${info.serveUrl}/metrics`,
    );
  if (info.s3Endpoint) console.log(`  Object store  ${info.s3Endpoint} (embedded S3 server for the s3:// artifact store)`);
  if (info.codecUrl)
    console.log(
      `  Codec server  ${info.codecUrl} (payloads are encrypted; the Web UI decodes through it, as does \`temporal workflow show --codec-endpoint ${info.codecUrl}\`)`,
    );
  const pools = Object.keys(info.processes).filter((name) => name.startsWith('pool-'));
  console.log(
    pools.length
      ? `  Pools         ${pools.map((name) => name.slice('pool-'.length)).join(', ')} (logs in ${home}/logs)`
      : '  Pools         none here (`up --pools none`): start them on other hosts against this stack',
  );
}

export function printResult(result: TrainingPipelineResult, link: string | undefined): void {
  console.log(`\nRun ${result.runId} succeeded.`);
  console.log(
    `  Model    ${result.model.name} v${result.model.version} (backend ${result.backend})${result.model.servedBy ? `, served at ${result.model.servedBy}` : ''}`,
  );
  console.log(`  Metrics  ${formatMetrics(result.metrics)}`);
  for (const line of formatClassMetrics(result.metrics)) console.log(`           ${line}`);
  if (result.crossValidation) console.log(`  CV       ${crossValidationLine(result.crossValidation, result.metrics.task ?? 'binary')}`);
  if (result.search) console.log(`  Search   ${searchLine(result.search)}`);
  if (result.blessing) {
    console.log(`  Blessing ${result.blessing.reason}`);
    if (!result.blessing.blessed) {
      console.log(`           registered, not deployed: \`pipewright models promote ${result.model.name} ${result.model.version}\` deploys it anyway`);
    }
  }
  console.log(`  Rows     ${result.rows} ingested, ${result.quarantinedRows} quarantined`);
  const warnings = result.validationWarnings ?? 0;
  console.log(`  Data     ${warnings === 0 ? 'no validation warnings' : `${warnings} validation warning${warnings === 1 ? '' : 's'}`}`);
  console.log(
    `  Stages   ${Object.entries(result.stageSeconds)
      .map(([s, t]) => `${s} ${t.toFixed(1)}s`)
      .join(' · ')}`,
  );
  console.log(`  Report   pipewright report ${result.runId}  (statistics, validation, curves, slices, importance as HTML)`);
  if (link) console.log(`  Web UI   ${link}`);
}
