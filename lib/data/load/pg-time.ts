/**
 * Dates and timestamps as PostgreSQL's binary COPY wants them: days and microseconds since
 * 2000-01-01 (UTC), in the proleptic Gregorian calendar that both PostgreSQL and JS use.
 */

/** Days from 1970-01-01 to 2000-01-01. */
export const PG_EPOCH_DAYS = 10957;
export const SECONDS_PER_DAY = 86_400;

/**
 * `YYYY-MM-DD`, optionally followed by `T` or a space and `HH:MM[:SS[.ffffff]]`, optionally with a
 * zone: `Z`, `±HH`, `±HHMM` or `±HH:MM`. The shapes ISO-8601 writers (and PostgreSQL itself) produce.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

export interface ParsedTimestamp {
  /** Seconds since 2000-01-01 00:00:00 UTC (zone applied when there is one). */
  seconds: number;
  /** Microseconds within the second, 0–999999. */
  micros: number;
  /** Whether the text named a zone (a timestamp column has none; a timestamptz column wants one). */
  zoned: boolean;
  /** Whether the text had a time of day (a date column takes none). */
  timed: boolean;
}

/** Days since 1970-01-01 of a Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The two-digit number at text[i], or NaN. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

/**
 * `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` and `YYYY-MM-DD HH:MM:SS` (T or space) without the regular
 * expression: these are nearly all the values of a large file's time columns, and the regex was a
 * tenth of a CSV load.
 */
function parseCommonTimestamp(text: string): ParsedTimestamp | undefined | null {
  const n = text.length;
  if ((n !== 10 && n !== 16 && n !== 19) || text[4] !== '-' || text[7] !== '-') return null;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  let hour = 0;
  let minute = 0;
  let second = 0;
  if (n > 10) {
    if ((text[10] !== ' ' && text[10] !== 'T') || text[13] !== ':' || (n === 19 && text[16] !== ':')) return null;
    hour = twoDigits(text, 11);
    minute = twoDigits(text, 14);
    second = n === 19 ? twoDigits(text, 17) : 0;
  }
  // NaN fails every comparison below, so a non-digit anywhere ends up here too.
  if (!(year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59)) return undefined;
  const days = daysFromCivil(year, month, day) - PG_EPOCH_DAYS;
  return { seconds: days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second, micros: 0, zoned: false, timed: n > 10 };
}

/** Parses a date or timestamp in the shapes above; undefined when the text is not one or names an impossible date or time. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const common = parseCommonTimestamp(text);
  if (common !== null) return common;
  const m = TIMESTAMP.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  // Year 0 does not exist for PostgreSQL (1 BC is written "0001-01-01 BC").
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const timed = m[4] !== undefined;
  const hour = timed ? Number(m[4]) : 0;
  const minute = timed ? Number(m[5]) : 0;
  const second = m[6] !== undefined ? Number(m[6]) : 0;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const micros = m[7] !== undefined ? Number(m[7].padEnd(6, '0')) : 0;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (zh > 15 || zm > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  const days = daysFromCivil(year, month, day) - PG_EPOCH_DAYS;
  const seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  return { seconds, micros, zoned: zone !== undefined, timed };
}

/** Days since 2000-01-01 of a `YYYY-MM-DD` text; undefined for anything else. */
export function parseDate(text: string): number | undefined {
  const t = parseTimestamp(text);
  return t === undefined || t.timed ? undefined : Math.floor(t.seconds / SECONDS_PER_DAY);
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` of `ms` milliseconds plus `micros` (0–999) microseconds since 1970-01-01, for showing a value. */
export function formatEpochTime(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = (iso.slice(20, 23) + String(micros).padStart(3, '0')).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction === '' ? '' : `.${fraction}`}`;
}
