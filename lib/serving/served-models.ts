import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Pool } from 'pg';
import { labelHead, type LabelHead } from '../features/label-task';
import { readTransform, type FittedTransform } from '../features/transform';
import { loadSavedModel } from '../models/model-io';
import { predictCodes } from '../models/predict';
import { productionModels, productionVersion, type ModelVersionRow } from '../registry/model-registry';
import { requireVersion } from '../registry/model-lookup';
import { BadRequestError, NotFoundError } from './bad-request';
import { MicroBatcher, type BatchingOptions } from './micro-batcher';
import { NO_ROLLOUT, RolloutTracker } from './rollout-tracker';
import type { RolloutMode, RolloutStats } from '../../contracts/rollout';

/** One model version in memory: its model, its fitted transform, and the batcher its requests go through. */
export interface LoadedModel {
  readonly row: ModelVersionRow;
  readonly model: LayersModel;
  readonly transform: FittedTransform;
  readonly head: LabelHead;
  /** Outputs (rows × units) for rows of feature codes, batched with concurrent requests. */
  predict(codes: Float32Array, rows: number): Promise<Float32Array>;
}

/** Which version answers a request, in what role, and what else scores it. */
export interface Choice {
  loaded: LoadedModel;
  role: 'production' | 'canary';
  /** Set while a rollout of the model runs: it counts both sides. */
  tracker?: RolloutTracker;
  /** Shadow mode: the challenger scores the same rows after production has answered. */
  shadow?: LoadedModel;
}

/** Versions other than production that `/versions/{v}` requests keep loaded, least recently used out first. */
const MAX_PINNED_VERSIONS = 8;

export interface ServedModelsOptions {
  batching: BatchingOptions;
  /** Called for every forward pass, for the batch-size metrics. */
  onBatch?: (model: string, rows: number, requests: number) => void;
  /** Where load failures are reported. */
  warn?: (message: string) => void;
}

class Version implements LoadedModel {
  private inFlight = 0;
  private retired = false;
  private readonly batcher: MicroBatcher;

  constructor(
    readonly row: ModelVersionRow,
    readonly model: LayersModel,
    readonly transform: FittedTransform,
    readonly head: LabelHead,
    options: ServedModelsOptions,
  ) {
    this.batcher = new MicroBatcher(
      (codes, rows) => predictCodes(model, transform, codes, rows),
      options.batching,
      (rows, requests) => options.onBatch?.(row.name, rows, requests),
    );
  }

  async predict(codes: Float32Array, rows: number): Promise<Float32Array> {
    this.inFlight++;
    try {
      return await this.batcher.submit(codes, rows);
    } finally {
      if (--this.inFlight === 0 && this.retired) this.model.dispose();
    }
  }

  /** Frees the model once the requests that hold it have their answers: a swap fails no request. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.model.dispose();
  }
}

/**
 * The model versions a server holds: the production version of every model (swapped in place when
 * production moves), and registered versions asked for by number, loaded on first use.
 */
export class ServedModels {
  private readonly production = new Map<string, Version>();
  private readonly pinned = new Map<string, Version>();
  private readonly loading = new Map<string, Promise<Version>>();
  /** Running rollouts by model: the challenger (a copy of its own, never evicted) and its tracker. */
  private readonly rollouts = new Map<string, { challenger: Version; tracker: RolloutTracker }>();

  constructor(
    private readonly pool: Pool,
    private readonly options: ServedModelsOptions,
  ) {}

  names(): string[] {
    return [...this.production.keys()];
  }

  served(): Array<{ name: string; version: number }> {
    return [...this.production.values()].map((m) => ({ name: m.row.name, version: m.row.version }));
  }

  /** The production version of `name`, if the server serves one. */
  get(name: string): LoadedModel | undefined {
    return this.production.get(name);
  }

  /**
   * The production version of `name`, or its version `version` (loaded from the registry on first
   * use). A model the server does not serve, or a version the registry does not have, is a NotFoundError.
   */
  async resolve(name: string, version?: number): Promise<LoadedModel> {
    const current = this.production.get(name);
    if (!current) throw new NotFoundError(`model "${name}" has no production version; serving: ${this.names().join(', ') || 'none'}`);
    if (version === undefined || version === current.row.version) return current;
    const key = `${name}@${version}`;
    const pinned = this.pinned.get(key);
    if (pinned) {
      // Most recently used last, so that eviction takes the oldest.
      this.pinned.delete(key);
      this.pinned.set(key, pinned);
      return pinned;
    }
    let loading = this.loading.get(key);
    if (!loading) {
      loading = this.loadPinned(name, version, key).finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    return loading;
  }

  /**
   * The version that answers a request for `name`: the one asked for by number; else production,
   * or during a canary the challenger for its share of requests; during a shadow rollout production
   * answers and the challenger scores a share of the same requests.
   */
  async choose(name: string, version?: number): Promise<Choice> {
    if (version !== undefined) return { loaded: await this.resolve(name, version), role: 'production' };
    const production = await this.resolve(name);
    const rollout = this.rollouts.get(name);
    if (!rollout) return { loaded: production, role: 'production' };
    const { challenger, tracker } = rollout;
    // The traffic split is a sampling decision, not part of any result: Math.random is right here.
    const picked = Math.random() < tracker.share;
    if (tracker.mode === 'canary') return picked ? { loaded: challenger, role: 'canary', tracker } : { loaded: production, role: 'production', tracker };
    return { loaded: production, role: 'production', tracker, ...(picked ? { shadow: challenger } : {}) };
  }

  /**
   * Starts (or keeps) a rollout of `version` of `name`: loads it beside production and routes as
   * `mode` says. Setting the same rollout again keeps its figures, so a retried call is harmless; a
   * different version, mode or share starts afresh.
   */
  async setRollout(name: string, version: number, mode: RolloutMode, share: number): Promise<RolloutStats> {
    const production = this.production.get(name);
    if (!production) throw new NotFoundError(`model "${name}" has no production version; serving: ${this.names().join(', ') || 'none'}`);
    if (version === production.row.version) throw new BadRequestError(`version ${version} of ${name} is production already; roll out another version`);
    const current = this.rollouts.get(name);
    if (current && current.tracker.version === version && current.tracker.mode === mode && current.tracker.share === share) return current.tracker.stats();
    let row: ModelVersionRow;
    try {
      row = await requireVersion(this.pool, name, version);
    } catch (err) {
      throw new NotFoundError((err as Error).message);
    }
    const challenger = current?.tracker.version === version ? current.challenger : await this.load(row);
    if (current && current.challenger !== challenger) current.challenger.retire();
    const tracker = new RolloutTracker(version, mode, share);
    this.rollouts.set(name, { challenger, tracker });
    return tracker.stats();
  }

  rolloutStats(name: string): RolloutStats {
    return this.rollouts.get(name)?.tracker.stats() ?? NO_ROLLOUT;
  }

  /** Ends the rollout of `name` (all traffic to production); returns its last figures. */
  clearRollout(name: string): RolloutStats {
    const rollout = this.rollouts.get(name);
    if (!rollout) return NO_ROLLOUT;
    this.rollouts.delete(name);
    rollout.challenger.retire();
    return rollout.tracker.stats();
  }

  private async loadPinned(name: string, version: number, key: string): Promise<Version> {
    let row: ModelVersionRow;
    try {
      row = await requireVersion(this.pool, name, version);
    } catch (err) {
      throw new NotFoundError((err as Error).message);
    }
    const loaded = await this.load(row);
    this.pinned.set(key, loaded);
    if (this.pinned.size > MAX_PINNED_VERSIONS) {
      const [oldest, evicted] = this.pinned.entries().next().value as [string, Version];
      this.pinned.delete(oldest);
      evicted.retire();
    }
    return loaded;
  }

  /**
   * Loads every production version that is not loaded yet; returns what is served now. A version
   * that cannot be loaded (its artifacts gone, a foreign format) is reported and skipped, so one
   * broken model does not keep the others from being served.
   */
  async reloadAll(): Promise<Array<{ name: string; version: number }>> {
    for (const row of await productionModels(this.pool)) {
      try {
        await this.ensureProduction(row);
      } catch (err) {
        this.options.warn?.(`cannot load ${row.name} v${row.version} (${row.modelUri}): ${(err as Error).message}; not serving it`);
      }
    }
    return this.served();
  }

  async reload(name: string): Promise<{ name: string; version: number } | undefined> {
    const row = await productionVersion(this.pool, name);
    if (!row) return undefined;
    await this.ensureProduction(row);
    return { name, version: row.version };
  }

  private async ensureProduction(row: ModelVersionRow): Promise<void> {
    const current = this.production.get(row.name);
    if (current && current.row.version === row.version) return;
    const loaded = await this.load(row);
    // Swap: new requests get the new version; those holding the old one finish on it, then it is freed.
    this.production.set(row.name, loaded);
    current?.retire();
  }

  private async load(row: ModelVersionRow): Promise<Version> {
    // readTransform reads every transform format (v1 of models registered before v2) in its v2 form.
    const transform = await readTransform({ uri: row.transformUri });
    const { model } = await loadSavedModel({ uri: row.modelUri }, transform);
    const head = labelHead(transform);
    const units = model.outputs[0]!.shape.at(-1);
    if (units !== head.units) {
      model.dispose();
      throw new Error(`${row.name} v${row.version}: the model gives ${units} outputs per row, but its transform's ${head.task} label needs ${head.units}`);
    }
    return new Version(row, model, transform, head, this.options);
  }

  dispose(): void {
    for (const loaded of [...this.production.values(), ...this.pinned.values(), ...[...this.rollouts.values()].map((r) => r.challenger)]) loaded.retire();
    this.production.clear();
    this.pinned.clear();
    this.rollouts.clear();
  }
}
