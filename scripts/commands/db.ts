import { spawn } from 'node:child_process';
import { loadConfig } from '../../lib/config';
import { resolveTarget } from '../client/target';

/**
 * `pipewright db [--psql]`: the PostgreSQL URL of the running stack (or DATABASE_URL), with its
 * password, for psql, a BI tool or `DATABASE_URL=... pipewright load`; `--psql` opens psql on it.
 */
export async function dbCommand(options: { psql: boolean }): Promise<number> {
  const target = await resolveTarget(loadConfig(), false, () => undefined);
  const url = target.databaseUrl;
  if (!url) throw new Error('no database: set DATABASE_URL, or start the stack with `pipewright up`');
  if (!options.psql) {
    console.log(url);
    return 0;
  }
  return new Promise<number>((resolve) => {
    const child = spawn('psql', [url], { stdio: 'inherit' });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      console.error(`psql is not installed (on Debian: apt-get install postgresql-client). Connect any client to:\n${url}`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
