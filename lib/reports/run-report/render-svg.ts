import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { VegaLiteSpec } from './chart-style';

/**
 * Server-side chart rendering: vega-lite compiles a spec to vega, a headless vega View (renderer
 * 'none', so no canvas is needed) lays it out, and toSVG() writes the markup.
 *
 * vega and vega-lite are ES modules only, and vega loads its optional canvas with a top-level
 * await, so they cannot be require()d (not even by Node's require(esm)); they need a real import().
 * The rendering runs in a worker thread that does that import: a worker is a plain Node context
 * whatever hosts this module (the CommonJS build, or jest's module sandbox, which refuses
 * import() without --experimental-vm-modules), and layout stays off the caller's event loop. The
 * worker's source is a string rather than a file so that the same code runs from lib/ under
 * ts transpilers and from dist/ after tsc.
 */
const HELVETICA_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
  556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278,
  469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260,
  334, 584,
];

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const modules = Promise.all([import(workerData.vega), import(workerData.vegaLite)]).then(([vega, vegaLite]) => {
  vega.textMetrics.width = textWidth;
  return [vega, vegaLite];
});
// Without a canvas vega guesses a text's width as 0.8 em per character, which is ~45% too wide for
// a sans-serif: titles and axis labels then push the chart's bounds out and it shrinks on the page.
// These are the advance widths (1/1000 em) of ASCII 32..126 in Helvetica, whose metrics Arial and
// Liberation Sans share; the charts ask for those fonts.
const WIDTHS = [${HELVETICA_WIDTHS.join(',')}];
function textWidth(item, text) {
  const line = text == null ? '' : String(text).trim();
  const size = item.fontSize != null ? +item.fontSize || 0 : 11;
  const bold = item.fontWeight === 'bold' || +item.fontWeight >= 600 ? 1.08 : 1;
  let em = 0;
  for (const ch of line) {
    const code = ch.codePointAt(0);
    em += code >= 32 && code <= 126 ? WIDTHS[code - 32] : 600;
  }
  const width = (em / 1000) * size * bold;
  // A label with a limit is drawn truncated to it.
  return item.limit > 0 ? Math.min(width, +item.limit) : width;
}
function collectingLogger(warnings, errors) {
  const logger = {
    level() { return logger; },
    error(...args) { errors.push(args.map(String).join(' ')); return logger; },
    warn(...args) { warnings.push(args.map(String).join(' ')); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}
parentPort.on('message', async ({ id, spec }) => {
  const warnings = [];
  const errors = [];
  try {
    const [vega, vegaLite] = await modules;
    const logger = collectingLogger(warnings, errors);
    const compiled = vegaLite.compile(spec, { logger }).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger, logLevel: vega.Warn });
    try {
      const svg = await view.toSVG();
      if (errors.length > 0) throw new Error(errors.join('; '));
      parentPort.postMessage({ id, svg, warnings });
    } finally {
      view.finalize();
    }
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

export interface RenderedChart {
  svg: string;
  /** What vega-lite or vega warned about (a dropped encoding, an unknown field): a chart that warns is usually wrong. */
  warnings: string[];
}

type WorkerReply = { id: number; svg: string; warnings: string[] } | { id: number; error: string };

interface Pending {
  resolve(chart: RenderedChart): void;
  reject(err: Error): void;
}

/** One thread per process, started on first use and kept: loading vega costs ~300 ms, a chart ~20 ms. */
let thread: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

function failAll(err: Error): void {
  thread = undefined;
  const waiting = [...pending.values()];
  pending.clear();
  for (const p of waiting) p.reject(err);
}

function rendererThread(): Worker {
  if (thread) return thread;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Resolved here, from this package, so the worker finds them whatever the current directory.
    workerData: { vega: pathToFileURL(require.resolve('vega')).href, vegaLite: pathToFileURL(require.resolve('vega-lite')).href },
  });
  worker.on('message', (reply: WorkerReply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    // An idle renderer must not keep a CLI process alive.
    if (pending.size === 0) worker.unref();
    if ('error' in reply) waiting.reject(new Error(`chart rendering failed: ${reply.error}`));
    else waiting.resolve({ svg: reply.svg, warnings: reply.warnings });
  });
  worker.on('error', (err) => {
    if (thread === worker) failAll(err);
  });
  worker.on('exit', (code) => {
    if (thread === worker) failAll(new Error(`the chart renderer thread exited (code ${code})`));
  });
  thread = worker;
  return worker;
}

/** Renders a vega-lite spec to SVG markup, with the warnings vega gave. */
export function renderChart(spec: VegaLiteSpec): Promise<RenderedChart> {
  const worker = rendererThread();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.ref();
    worker.postMessage({ id, spec });
  });
}

/** Renders a vega-lite spec to a standalone `<svg>` string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  return (await renderChart(spec)).svg;
}

/** Stops the renderer thread (tests; a CLI process can simply exit, the idle thread does not hold it). */
export async function stopSvgRenderer(): Promise<void> {
  const worker = thread;
  if (!worker) return;
  failAll(new Error('the chart renderer was stopped'));
  await worker.terminate();
}
