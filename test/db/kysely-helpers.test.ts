import { describe, expect, it } from 'vitest';
import { dateOf, isUniqueViolation, json, parsedJson } from '../../src/db/kysely.js';

describe('hot-path value helpers read both dialects', () => {
  it('dateOf: SQLite epoch milliseconds, PostgreSQL timestamptz text in any offset form, and Dates', () => {
    const at = new Date('2026-11-26T09:30:00.123Z');
    expect(dateOf(at.getTime())).toEqual(at);
    expect(dateOf(String(at.getTime()))).toEqual(at);
    expect(dateOf(at)).toBe(at);
    expect(dateOf('2026-11-26 09:30:00.123+00')).toEqual(at);
    expect(dateOf('2026-11-26 10:30:00.123+01:00')).toEqual(at);
    expect(dateOf('2026-11-26 09:30:00.123+00:00:00')).toEqual(at);
    expect(dateOf('2026-11-26 04:00:00.123-05:30')).toEqual(at);
    expect(() => dateOf('yesterday')).toThrow(/not a timestamp/);
  });

  it('json and parsedJson: JSON text in; SQLite text or PostgreSQL jsonb values out', () => {
    const value = { a: [1, 'x', null] };
    expect(json(value)).toBe('{"a":[1,"x",null]}');
    expect(json(null)).toBeNull();
    expect(parsedJson(json(value))).toEqual(value);
    expect(parsedJson(value)).toBe(value);
    expect(parsedJson(null)).toBeNull();
  });

  it('isUniqueViolation: SQLite codes, PostgreSQL 23505, MikroORM exception', () => {
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBe(true);
    expect(isUniqueViolation({ code: '23505' })).toBe(true);
    expect(isUniqueViolation(Object.assign(new Error('x'), { name: 'UniqueConstraintViolationException' }))).toBe(true);
    expect(isUniqueViolation({ code: '23503' })).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
  });
});
