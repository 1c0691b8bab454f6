import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseDurationListMs, parseDurationMs, parseRetryAfterMs, retryDelayMs } from '../../src/delivery/retry-policy.js';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['5m', 300_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['5d', 432_000_000],
    ['1.5s', 1_500],
    ['0s', 0],
    ['250', 250], // bare integer = milliseconds
    ['  10s ', 10_000],
  ])('%j → %d', (text, expected) => {
    expect(parseDurationMs(text)).toBe(expected);
  });

  it.each(['', ' ', '-5s', '-250', '5D', 'abc', '5x', '5 s', '5S', '5M', '1.5', '.5s', '5s5', 's', '1e3', '0x10', 'Infinity', '99999999999999999999h'])(
    '%j → null',
    (text) => {
      expect(parseDurationMs(text)).toBeNull();
    },
  );
});

describe('parseDurationListMs', () => {
  it('parses a comma separated schedule, tolerating whitespace', () => {
    expect(parseDurationListMs('5s,5m,30m')).toEqual([5_000, 300_000, 1_800_000]);
    expect(parseDurationListMs(' 5s , 5m ,30m ')).toEqual([5_000, 300_000, 1_800_000]);
    expect(parseDurationListMs('1h')).toEqual([3_600_000]);
  });

  it.each(['', ' ', ',', '5s,', ',5s', '5s,,5m', '5s,nope', '5s;5m'])('%j → null', (text) => {
    expect(parseDurationListMs(text)).toBeNull();
  });
});

describe('retryDelayMs', () => {
  const delaysMs = [5_000, 300_000, 1_800_000];

  it('uses the delay scheduled after the attempt that failed, with ±20% jitter', () => {
    expect(retryDelayMs({ attemptNumber: 1, delaysMs, retryAfterMs: null, random: () => 0.5 })).toBe(5_000);
    expect(retryDelayMs({ attemptNumber: 2, delaysMs, retryAfterMs: null, random: () => 0 })).toBe(240_000);
    expect(retryDelayMs({ attemptNumber: 3, delaysMs, retryAfterMs: null, random: () => 0.999999 })).toBeCloseTo(2_160_000, -2);
  });

  it('stays within the jitter bounds with the real random source', () => {
    for (let i = 0; i < 1_000; i += 1) {
      const delay = retryDelayMs({ attemptNumber: 1, delaysMs, retryAfterMs: null });
      expect(delay).toBeGreaterThanOrEqual(4_000);
      expect(delay).toBeLessThanOrEqual(6_000);
    }
  });

  it('returns null once retries are exhausted: 3 delays → 4 attempts', () => {
    expect(retryDelayMs({ attemptNumber: 3, delaysMs, retryAfterMs: null })).not.toBeNull();
    expect(retryDelayMs({ attemptNumber: 4, delaysMs, retryAfterMs: null })).toBeNull();
    expect(retryDelayMs({ attemptNumber: 4, delaysMs, retryAfterMs: 1_000 })).toBeNull();
    expect(retryDelayMs({ attemptNumber: 1, delaysMs: [], retryAfterMs: null })).toBeNull();
  });

  it('honours Retry-After instead of the schedule, unjittered, capped at one hour', () => {
    expect(retryDelayMs({ attemptNumber: 2, delaysMs, retryAfterMs: 10_000, random: () => 0 })).toBe(10_000);
    expect(retryDelayMs({ attemptNumber: 1, delaysMs, retryAfterMs: 120_000 })).toBe(120_000);
    expect(retryDelayMs({ attemptNumber: 1, delaysMs, retryAfterMs: 86_400_000 })).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelayMs({ attemptNumber: 1, delaysMs, retryAfterMs: 0 })).toBe(0);
    expect(retryDelayMs({ attemptNumber: 1, delaysMs, retryAfterMs: -5 })).toBe(0);
    expect(MAX_RETRY_AFTER_MS).toBe(3_600_000);
  });

  it('rejects an attemptNumber that is not a positive integer', () => {
    expect(() => retryDelayMs({ attemptNumber: 0, delaysMs, retryAfterMs: null })).toThrow(RangeError);
    expect(() => retryDelayMs({ attemptNumber: 1.5, delaysMs, retryAfterMs: null })).toThrow(RangeError);
  });
});

describe('parseRetryAfterMs', () => {
  const nowMs = Date.parse('2025-01-01T00:00:00Z');

  it('parses delay-seconds', () => {
    expect(parseRetryAfterMs('120', nowMs)).toBe(120_000);
    expect(parseRetryAfterMs(' 0 ', nowMs)).toBe(0);
  });

  it('parses HTTP-dates relative to now (past dates → 0)', () => {
    expect(parseRetryAfterMs('Wed, 01 Jan 2025 00:01:30 GMT', nowMs)).toBe(90_000);
    expect(parseRetryAfterMs(new Date(nowMs + 5_000).toUTCString(), nowMs)).toBe(5_000);
    expect(parseRetryAfterMs('Tue, 31 Dec 2024 23:00:00 GMT', nowMs)).toBe(0);
    expect(parseRetryAfterMs('Wednesday, 01-Jan-25 00:00:10 GMT', nowMs)).toBe(10_000); // RFC 850
    expect(parseRetryAfterMs('Wed Jan  1 00:00:20 2025', nowMs)).toBe(20_000); // asctime, GMT
  });

  it.each([undefined, '', 'soon', '-5', '1.5', '5s', '2025-01-01T00:01:00Z', 'Wed, 01 Jan 2025 00:01:30 PST', '9'.repeat(30)])(
    '%j → null',
    (value) => {
      expect(parseRetryAfterMs(value, nowMs)).toBeNull();
    },
  );
});
