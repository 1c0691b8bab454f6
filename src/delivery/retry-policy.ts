// When to try a failed delivery again. Pure functions: the job layer owns clocks and scheduling.

/** Upper bound for honouring a receiver's Retry-After, so one header cannot park a delivery for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Jitter applied to scheduled delays (±20%), so many failed deliveries do not retry in lockstep. */
export const RETRY_JITTER_RATIO = 0.2;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a human duration from config: `250ms`, `5s`, `5m`, `30m`, `1h`, `5d`, `1.5s`. A bare integer
 * (`250`) means milliseconds, matching the `...Ms` naming used everywhere else. Units are
 * lower-case only (`M` could mean months); surrounding whitespace is ignored. Negative, fractional
 * bare numbers, unknown units, or results beyond a safe integer → null. Fractions round to whole ms.
 */
export function parseDurationMs(text: string): number | null {
  if (typeof text !== 'string') return null;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) return null;
  const [, amountText = '', unit] = match;
  if (unit === undefined && amountText.includes('.')) return null;
  const ms = Math.round(Number(amountText) * (UNIT_MS[unit ?? 'ms'] ?? Number.NaN));
  return Number.isSafeInteger(ms) ? ms : null;
}

/** Parses a retry schedule from config such as `5s,5m,30m` (comma separated, at least one entry). */
export function parseDurationListMs(text: string): number[] | null {
  if (typeof text !== 'string') return null;
  const delaysMs: number[] = [];
  for (const part of text.split(',')) {
    const delayMs = parseDurationMs(part);
    if (delayMs === null) return null;
    delaysMs.push(delayMs);
  }
  return delaysMs.length > 0 ? delaysMs : null;
}

/** Input for retryDelayMs; `attemptNumber` is the 1-based attempt that just failed. */
export interface RetryDelayInput {
  attemptNumber: number;
  delaysMs: number[];
  retryAfterMs: number | null;
  random?: () => number;
}

/**
 * How long to wait before the next attempt, or null when retries are exhausted. With N scheduled
 * delays there are N+1 attempts: attempt k (1 ≤ k ≤ N) failing → delaysMs[k-1] ±20% jitter.
 * When the receiver sent Retry-After (429/503), it is honoured INSTEAD of the schedule (even if
 * shorter: the receiver knows when it will be ready), capped at MAX_RETRY_AFTER_MS and not jittered;
 * it never grants extra attempts. An attemptNumber that is not a positive integer is a programming
 * error → RangeError.
 */
export function retryDelayMs(input: RetryDelayInput): number | null {
  const { attemptNumber, delaysMs, retryAfterMs } = input;
  if (!Number.isInteger(attemptNumber) || attemptNumber < 1) {
    throw new RangeError(`attemptNumber must be a positive integer, got ${attemptNumber}`);
  }
  const scheduledMs = delaysMs[attemptNumber - 1];
  if (scheduledMs === undefined) return null;
  if (retryAfterMs !== null && Number.isFinite(retryAfterMs)) {
    return Math.round(Math.min(Math.max(retryAfterMs, 0), MAX_RETRY_AFTER_MS));
  }
  const random = input.random ?? Math.random;
  const factor = 1 + (random() * 2 - 1) * RETRY_JITTER_RATIO;
  return Math.max(0, Math.round(scheduledMs * factor));
}

const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses a Retry-After header (RFC 9110: delay-seconds or HTTP-date) into a delay from `nowMs`.
 * Dates in the past → 0. Missing, malformed, or absurdly large values → null (use the schedule).
 * Not capped here; retryDelayMs applies MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfterMs(headerValue: string | undefined, nowMs: number): number | null {
  if (typeof headerValue !== 'string') return null;
  const value = headerValue.trim();
  if (/^\d+$/.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isSafeInteger(ms) ? ms : null;
  }
  let dateMs = Number.NaN;
  if (IMF_FIXDATE.test(value) || RFC850_DATE.test(value)) dateMs = Date.parse(value);
  else if (ASCTIME_DATE.test(value)) dateMs = Date.parse(`${value} GMT`);
  if (!Number.isFinite(dateMs)) return null;
  return Math.max(0, Math.round(dateMs - nowMs));
}
