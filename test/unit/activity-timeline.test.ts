import { timelineOf, unionLength } from '../../bench/activity-timeline';

const span = (startMs: number, endMs: number) => ({ startMs, endMs });

describe('unionLength', () => {
  test('adds disjoint intervals and counts overlaps once', () => {
    expect(unionLength([])).toBe(0);
    expect(unionLength([span(0, 10)])).toBe(10);
    expect(unionLength([span(0, 10), span(20, 25)])).toBe(15);
    expect(unionLength([span(0, 10), span(5, 15)])).toBe(15);
    expect(unionLength([span(5, 15), span(0, 10), span(2, 3)])).toBe(15); // order does not matter
    expect(unionLength([span(0, 10), span(10, 12)])).toBe(12); // touching
    expect(unionLength([span(0, 100), span(10, 20), span(30, 40)])).toBe(100); // nested
  });

  test('matches a brute-force count over a grid', () => {
    let seed = 12345;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let trial = 0; trial < 50; trial++) {
      const spans = Array.from({ length: 1 + rand(8) }, () => {
        const a = rand(100);
        return span(a, a + rand(30));
      });
      let covered = 0;
      for (let t = 0; t < 200; t++) if (spans.some((s) => t >= s.startMs && t < s.endMs)) covered++;
      expect(unionLength(spans)).toBe(covered);
    }
  });
});

describe('timelineOf', () => {
  const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

  test('pairs each activity start with its end and measures the workflow', () => {
    const events = [
      { eventId: 1, eventTime: at(1_000) },
      { eventId: 5, eventTime: at(1_100), activityTaskScheduledEventAttributes: { activityType: { name: 'ingestPartition' } } },
      { eventId: 6, eventTime: at(1_100), activityTaskScheduledEventAttributes: { activityType: { name: 'ingestPartition' } } },
      { eventId: 7, eventTime: at(1_200), activityTaskStartedEventAttributes: { scheduledEventId: 5 } },
      { eventId: 8, eventTime: at(1_250), activityTaskStartedEventAttributes: { scheduledEventId: 6 } },
      { eventId: 9, eventTime: at(2_200), activityTaskCompletedEventAttributes: { scheduledEventId: 5 } },
      { eventId: 10, eventTime: at(2_500), activityTaskFailedEventAttributes: { scheduledEventId: 6 } },
      { eventId: 11, eventTime: at(2_600), activityTaskScheduledEventAttributes: { activityType: { name: 'trainEpoch' } } },
      { eventId: 12, eventTime: at(2_700), activityTaskStartedEventAttributes: { scheduledEventId: 11 } },
      { eventId: 13, eventTime: at(4_700), activityTaskCompletedEventAttributes: { scheduledEventId: 11 } },
      { eventId: 14, eventTime: at(5_000) },
    ];
    const timeline = timelineOf(events);
    expect(timeline.wallMs).toBe(4_000);
    expect(timeline.spans).toEqual([
      { type: 'ingestPartition', startMs: 1_200, endMs: 2_200 },
      { type: 'ingestPartition', startMs: 1_250, endMs: 2_500 },
      { type: 'trainEpoch', startMs: 2_700, endMs: 4_700 },
    ]);
    expect(timeline.busyMs).toBe(1_300 + 2_000);
  });
});
