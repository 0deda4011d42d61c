import { loadConfig, type PipewrightConfig } from '../lib/config';

/**
 * The configuration of a benchmark's own stack: its home, every port shifted by `portOffset`, and
 * nothing of a stack this shell may point at (TEMPORAL_ADDRESS, DATABASE_URL, a UI URL), with
 * `extra` settings on top.
 */
export function benchStackConfig(home: string, portOffset: number, extra: Record<string, string> = {}): PipewrightConfig {
  const port = (base: number): string => String(base + portOffset);
  return loadConfig({
    ...process.env,
    PIPEWRIGHT_HOME: home,
    PIPEWRIGHT_TEMPORAL_PORT: port(7233),
    PIPEWRIGHT_TEMPORAL_UI_PORT: port(8233),
    PIPEWRIGHT_POSTGRES_PORT: port(5433),
    PIPEWRIGHT_SERVE_PORT: port(8501),
    PIPEWRIGHT_SERVE_URL: `http://127.0.0.1:${port(8501)}`,
    PIPEWRIGHT_TEMPORAL_UI_URL: undefined,
    TEMPORAL_ADDRESS: undefined,
    DATABASE_URL: undefined,
    ...extra,
  });
}
