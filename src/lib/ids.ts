import { randomBytes } from 'node:crypto';

/** The kinds of record that get a prefixed ID, so an ID says what it names in logs and support tickets. */
export type IdPrefix = 'org' | 'evt' | 'wh' | 'dlv' | 'att' | 'tok';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case
const RANDOM_LENGTH = 16;

let lastTimeMs = -1;
let lastRandom: number[] = [];

function nextRandom(timeMs: number): number[] {
  if (timeMs === lastTimeMs) {
    // Same millisecond: increment, so IDs made in order sort in order (monotonic, as ULID specifies).
    const next = [...lastRandom];
    for (let i = next.length - 1; i >= 0; i--) {
      if (next[i]! < 31) {
        next[i]!++;
        break;
      }
      next[i] = 0;
    }
    lastRandom = next;
    return next;
  }
  const bytes = randomBytes(RANDOM_LENGTH);
  // Leave headroom in the first digit so increments within one millisecond never wrap.
  lastRandom = Array.from(bytes, (b, i) => (i === 0 ? b % 16 : b % 32));
  lastTimeMs = timeMs;
  return lastRandom;
}

/**
 * A time-sortable (ULID-like) prefixed ID: later IDs sort after earlier ones, also within one
 * millisecond of this process, so (time, id) orderings follow creation order.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const random = nowMs === Date.now() || nowMs === lastTimeMs ? nextRandom(nowMs) : Array.from(randomBytes(RANDOM_LENGTH), (b) => b % 32);
  return `${prefix}_${time}${random.map((d) => ALPHABET[d]).join('')}`;
}

const ID_BODY = new RegExp(`^[${ALPHABET}]{${10 + RANDOM_LENGTH}}$`);

/**
 * True when `value` has the form newId makes for `prefix`; lookups answer "not found" for anything
 * else without asking the database, so a hostile id never reaches SQL.
 */
export function isId(prefix: IdPrefix, value: unknown): value is string {
  return typeof value === 'string' && value.length === prefix.length + 1 + 10 + RANDOM_LENGTH && value.startsWith(`${prefix}_`) && ID_BODY.test(value.slice(prefix.length + 1));
}
