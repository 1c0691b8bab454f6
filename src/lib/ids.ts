import { randomBytes } from 'node:crypto';

/** The kinds of record that get a prefixed ID, so an ID says what it names in logs and support tickets. */
export type IdPrefix = 'org' | 'evt' | 'wh' | 'dlv' | 'att' | 'tok';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/** A time-sortable (ULID-like) prefixed ID: newer IDs sort after older ones of the same millisecond or earlier. */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[bytes[i]! % 32]!;
  return `${prefix}_${time}${random}`;
}

/** Cheap shape check before a database lookup, so garbage IDs fail fast and uniformly. */
export function hasIdPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length <= 64;
}
