import type { TimestampPart } from '../spec/pipeline-spec';

/**
 * Calendar parts of an instant given as epoch milliseconds, always in UTC (no zone, hence no DST).
 * Plain integer arithmetic instead of a Date per row: a shard has millions of rows, and the same
 * functions run at serving, so training and serving agree by construction.
 *
 * Every part is a 0-based slot index: hour 0-23, weekday 0-6 (0 = Sunday, as Date#getUTCDay),
 * month 0-11 (0 = January, as Date#getUTCMonth), dayOfMonth 0-30 (day 1 is slot 0).
 */

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** Slots of each part; a cyclical part goes round its circle once per this many values. */
export const PART_SIZE: Readonly<Record<TimestampPart, number>> = { hour: 24, weekday: 7, month: 12, dayOfMonth: 31 };

function modulo(a: number, n: number): number {
  return ((a % n) + n) % n;
}

export function hourOfDay(ms: number): number {
  return Math.floor(modulo(ms, MS_PER_DAY) / MS_PER_HOUR);
}

export function dayOfWeek(ms: number): number {
  return modulo(Math.floor(ms / MS_PER_DAY) + 4, 7); // 1970-01-01 was a Thursday (4)
}

/**
 * Month (0-11) and day of month (0-30) of a day count since 1970-01-01, packed as month * 32 + day,
 * by Howard Hinnant's civil_from_days (proleptic Gregorian, exact for any day count a Date holds).
 */
function monthAndDay(days: number): number {
  const z = days + 719468; // days since 0000-03-01
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // day of the 400-year era, [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // day of the year from March 1st
  const mp = Math.floor((5 * doy + 2) / 153); // month from March (0) to February (11)
  const day = doy - Math.floor((153 * mp + 2) / 5);
  const month = mp < 10 ? mp + 2 : mp - 10;
  return month * 32 + day;
}

export function monthOf(ms: number): number {
  return monthAndDay(Math.floor(ms / MS_PER_DAY)) >> 5;
}

export function dayOfMonth(ms: number): number {
  return monthAndDay(Math.floor(ms / MS_PER_DAY)) & 31;
}

export function partOf(part: TimestampPart, ms: number): number {
  switch (part) {
    case 'hour':
      return hourOfDay(ms);
    case 'weekday':
      return dayOfWeek(ms);
    case 'month':
      return monthOf(ms);
    case 'dayOfMonth':
      return dayOfMonth(ms);
  }
}

/** sin and cos of each slot's angle (2π · slot / size), interleaved: [sin 0, cos 0, sin 1, cos 1, ...]. */
export function cyclicalTable(part: TimestampPart): Float64Array {
  const size = PART_SIZE[part];
  const table = new Float64Array(2 * size);
  for (let v = 0; v < size; v++) {
    const angle = (2 * Math.PI * v) / size;
    table[2 * v] = Math.sin(angle);
    table[2 * v + 1] = Math.cos(angle);
  }
  return table;
}
