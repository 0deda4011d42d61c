import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes pipewright sets on every run, so runs can be filtered in the Web UI
 * (e.g. `PipewrightStage = "train"`) and with `temporal workflow list --query`. They must be
 * registered on the namespace: the embedded dev server does it at start
 * (`--search-attribute`); on a cluster, `temporal operator search-attribute create`.
 */
export const PIPELINE = defineSearchAttributeKey('PipewrightPipeline', SearchAttributeType.KEYWORD);
export const MODEL = defineSearchAttributeKey('PipewrightModel', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('PipewrightStage', SearchAttributeType.KEYWORD);
/** Set by a monitor run that found drift or a degraded live metric: its one-line reason (e.g. `drift: distance JS 0.31 > 0.1`). */
export const ALERT = defineSearchAttributeKey('PipewrightAlert', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES: ReadonlyArray<{ name: string; type: 'Keyword' }> = [PIPELINE, MODEL, STAGE, ALERT].map((k) => ({
  name: k.name,
  type: 'Keyword' as const,
}));
