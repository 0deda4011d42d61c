/** How the server groups concurrent requests for one model version into one forward pass. */
export interface BatchingOptions {
  /** Rows per forward pass at most; 1 turns batching off (each request runs alone). */
  maxBatchRows: number;
  /**
   * How long a batch that is not full waits for more requests, in milliseconds. 0 waits for no timer:
   * the requests that arrived in the same turn of the event loop, and those that arrive while a
   * batch runs, form the next batch, so a lone request is not delayed and a burst is coalesced.
   */
  maxWaitMs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxBatchRows: 256, maxWaitMs: 0 };

/** A forward pass: rows × featureCount codes in, rows × units outputs back. */
export type ForwardPass = (codes: Float32Array, rows: number) => Promise<Float32Array>;

interface Pending {
  codes: Float32Array;
  rows: number;
  resolve: (outputs: Float32Array) => void;
  reject: (err: unknown) => void;
}

/**
 * Micro-batching as in TF Serving's batching and Triton's dynamic batcher: concurrent requests for
 * one model version are concatenated into one forward pass, and each gets its own rows of the
 * outputs back. At most one pass runs at a time per version; requests that arrive meanwhile wait for
 * the next. A failed pass fails exactly the requests that were in it.
 */
export class MicroBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private running = false;
  private scheduled = false;

  constructor(
    private readonly forward: ForwardPass,
    private readonly options: BatchingOptions,
    private readonly onBatch: (rows: number, requests: number) => void = () => {},
  ) {}

  /** The outputs for these rows (rows × units), computed in a batch with whatever else is waiting. */
  submit(codes: Float32Array, rows: number): Promise<Float32Array> {
    if (this.options.maxBatchRows <= 1) {
      this.onBatch(rows, 1);
      return this.forward(codes, rows);
    }
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ codes, rows, resolve, reject });
      this.queuedRows += rows;
      if (this.running) return; // the running pass starts the next one when it ends
      if (this.queuedRows >= this.options.maxBatchRows) this.runNext();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const fire = (): void => {
      this.scheduled = false;
      if (!this.running) this.runNext();
    };
    if (this.options.maxWaitMs > 0) setTimeout(fire, this.options.maxWaitMs);
    else setImmediate(fire);
  }

  private runNext(): void {
    if (this.queue.length === 0) return;
    const batch = this.take();
    this.running = true;
    const rows = batch.reduce((sum, p) => sum + p.rows, 0);
    this.onBatch(rows, batch.length);
    let codes: Float32Array;
    if (batch.length === 1) codes = batch[0]!.codes;
    else {
      codes = new Float32Array(batch.reduce((sum, p) => sum + p.codes.length, 0));
      let at = 0;
      for (const p of batch) {
        codes.set(p.codes, at);
        at += p.codes.length;
      }
    }
    let pass: Promise<Float32Array>;
    try {
      pass = this.forward(codes, rows);
    } catch (err) {
      pass = Promise.reject(err);
    }
    pass
      .then(
        (outputs) => {
          const units = outputs.length / rows;
          let at = 0;
          for (const p of batch) {
            // A copy, so that one request's answer does not keep the whole batch's buffer alive.
            p.resolve(outputs.slice(at * units, (at + p.rows) * units));
            at += p.rows;
          }
        },
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        this.running = false;
        if (this.queue.length > 0) {
          if (this.queuedRows >= this.options.maxBatchRows || this.options.maxWaitMs === 0) this.runNext();
          else this.schedule();
        }
      });
  }

  /** The oldest requests up to maxBatchRows rows (always at least one, however many rows it has). */
  private take(): Pending[] {
    let rows = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || rows + this.queue[n]!.rows <= this.options.maxBatchRows)) rows += this.queue[n++]!.rows;
    const batch = this.queue.splice(0, n);
    this.queuedRows -= rows;
    return batch;
  }
}
