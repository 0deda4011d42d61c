/** One activity's final attempt, from the workflow history: when a worker started it and when it ended. */
export interface ActivitySpan {
  type: string;
  startMs: number;
  endMs: number;
}

export interface Timeline {
  /** WorkflowExecutionStarted → the workflow's close event. */
  wallMs: number;
  spans: ActivitySpan[];
  /** Time during which at least one activity was running (the union of the spans). */
  busyMs: number;
}

/** The fields of a Temporal history event read here (ids and seconds arrive as Long, which Number() converts). */
export interface HistoryEventLike {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
}

function ms(event: HistoryEventLike): number {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

/** Length of the union of [start, end) intervals. */
export function unionLength(intervals: ReadonlyArray<{ startMs: number; endMs: number }>): number {
  const sorted = [...intervals].sort((a, b) => a.startMs - b.startMs);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const { startMs, endMs } of sorted) {
    if (startMs > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = startMs;
      curEnd = endMs;
    } else if (endMs > curEnd) {
      curEnd = endMs;
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/**
 * Reads a closed workflow's history into activity spans. What no span covers is orchestration:
 * workflow tasks, task dispatch and the hops between steps.
 */
export function timelineOf(events: readonly HistoryEventLike[]): Timeline {
  const scheduled = new Map<number, string>();
  const started = new Map<number, number>();
  const spans: ActivitySpan[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const e of events) {
    const id = Number(e.eventId);
    const at = ms(e);
    first = Math.min(first, at);
    last = Math.max(last, at);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const start = e.activityTaskStartedEventAttributes;
    if (start) started.set(Number(start.scheduledEventId), at);
    const end = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (end) {
      const scheduledId = Number(end.scheduledEventId);
      const startMs = started.get(scheduledId);
      if (startMs !== undefined) spans.push({ type: scheduled.get(scheduledId) ?? '?', startMs, endMs: at });
    }
  }
  return { wallMs: events.length ? last - first : 0, spans, busyMs: unionLength(spans) };
}
