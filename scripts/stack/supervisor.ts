/** How a supervised service ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running instance of a service, as the supervisor sees it. */
export interface ServiceInstance {
  /** Process id, where there is one, for the logs and stack.json. */
  pid: number | undefined;
  /** Resolves when the instance has stopped, for whatever reason. */
  exited: Promise<ExitStatus>;
  /** Stops it; resolves at once when it is already gone. */
  stop(): Promise<void>;
}

export interface RestartPolicy {
  /** Wait before the n-th restart in a row (the last value repeats). */
  backoffMs: readonly number[];
  /** Restarts allowed within `windowMs`; one more crash and the service is given up. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  backoffMs: [1_000, 2_000, 4_000, 8_000, 16_000, 30_000],
  maxRestarts: 5,
  windowMs: 10 * 60_000,
};

export function describeExit({ code, signal }: ExitStatus): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** One service under supervision: started, restarted when it dies, stopped on request. */
export class SupervisedService {
  private current: ServiceInstance;
  private stopping = false;
  private givenUp = false;
  private readonly restarts: number[] = [];
  private wakeUp: (() => void) | undefined;
  private readonly watching: Promise<void>;

  constructor(
    readonly name: string,
    first: ServiceInstance,
    private readonly start: () => Promise<ServiceInstance>,
    private readonly log: (line: string) => void,
    private readonly hooks: { onRestarted?: (instance: ServiceInstance) => void; hint?: string } = {},
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {
    this.current = first;
    this.watching = this.watch();
  }

  get pid(): number | undefined {
    return this.current.pid;
  }

  /** Whether the service stopped crashing-and-restarting because it crashed too often. */
  get failed(): boolean {
    return this.givenUp;
  }

  private async watch(): Promise<void> {
    for (;;) {
      const status = await this.current.exited;
      if (this.stopping) return;
      const now = Date.now();
      while (this.restarts.length && now - this.restarts[0]! > this.policy.windowMs) this.restarts.shift();
      if (this.restarts.length >= this.policy.maxRestarts) {
        this.givenUp = true;
        this.log(
          `[stack] ${this.name} ${describeExit(status)} and has crashed ${this.restarts.length + 1} times in ${Math.round(this.policy.windowMs / 60_000)} min: ` +
            `not restarting it again.${this.hooks.hint ? ` ${this.hooks.hint}` : ''}`,
        );
        return;
      }
      const delay = this.policy.backoffMs[Math.min(this.restarts.length, this.policy.backoffMs.length - 1)]!;
      this.restarts.push(now);
      this.log(
        `[stack] ${this.name} (pid ${this.current.pid ?? '?'}) ${describeExit(status)}; restarting it in ${delay / 1000} s (restart ${this.restarts.length} of at most ${this.policy.maxRestarts}).`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
      if (this.stopping) return;
      try {
        this.current = await this.start();
      } catch (err) {
        // A failed start counts as a crash: the loop backs off and tries again, or gives up.
        this.log(`[stack] ${this.name} did not start again: ${(err as Error).message}`);
        this.current = { pid: undefined, exited: Promise.resolve({ code: null, signal: null }), stop: async () => undefined };
        continue;
      }
      if (this.stopping) {
        await this.current.stop();
        return;
      }
      this.log(`[stack] ${this.name} restarted (pid ${this.current.pid ?? '?'}).`);
      this.hooks.onRestarted?.(this.current);
    }
  }

  /**
   * From now on a death is final: the stack is going down. Called for every service before any is
   * stopped, so that one which exits on the same Ctrl-C by itself (embedded PostgreSQL has its own
   * exit hook) is not restarted while the others are still stopping.
   */
  retire(): void {
    this.stopping = true;
    this.wakeUp?.();
  }

  /** Stops the service and its supervision; quick when the service is already gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.current.stop();
    await this.watching;
  }
}

/** A service the stack runs itself (embedded PostgreSQL, the dev server): the instance now running, and how to start another. */
export interface EmbeddedService {
  instance: ServiceInstance;
  restart(): Promise<ServiceInstance>;
  /** Where its output goes, to point at when it keeps crashing. */
  logFile?: string;
}
