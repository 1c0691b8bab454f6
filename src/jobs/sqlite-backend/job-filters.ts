import type { RemoveJobsOptions } from 'agenda';
import { toDataJson, toEpochMs } from './job-row.js';

/** A value better-sqlite3 can bind. */
export type SqlValue = string | number | bigint | Buffer | null;

/** A WHERE fragment with its positional bind values, so filters compose without splicing values into SQL. */
export interface SqlCondition {
  sql: string;
  params: SqlValue[];
}

/** Joins conditions with AND into one fragment ('1' when there are none). */
export function allOf(conditions: readonly SqlCondition[]): SqlCondition {
  if (conditions.length === 0) return { sql: '1', params: [] };
  return {
    sql: conditions.map((c) => `(${c.sql})`).join(' AND '),
    params: conditions.flatMap((c) => c.params),
  };
}

/** `column IN (...)` for a list of any length with one bind value, so the statement text (and its cache entry) stays the same. */
export function inList(column: string, values: readonly string[]): SqlCondition {
  return { sql: `${column} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(values)] };
}

/**
 * Conditions for Agenda's RemoveJobsOptions (cancel, disable, enable): id or ids, then name, names or
 * notNames, then data, all ANDed. An empty result means the filter selects nothing; callers must then
 * change nothing rather than run an unfiltered statement.
 */
export function removeFilterConditions(options: RemoveJobsOptions): SqlCondition[] {
  const conditions: SqlCondition[] = [];
  if (options.id) {
    conditions.push({ sql: 'id = ?', params: [String(options.id)] });
  } else if (options.ids && options.ids.length > 0) {
    conditions.push(inList('id', options.ids.map(String)));
  }
  if (options.name) {
    conditions.push({ sql: 'name = ?', params: [options.name] });
  } else if (options.names && options.names.length > 0) {
    conditions.push(inList('name', options.names));
  } else if (options.notNames && options.notNames.length > 0) {
    const excluded = inList('name', options.notNames);
    conditions.push({ sql: `NOT (${excluded.sql})`, params: excluded.params });
  }
  if (options.data !== undefined) conditions.push(...dataFilterConditions(options.data));
  return conditions;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** SQLite JSON path for object keys, each quoted so keys with dots or spaces work; keys are bound, never spliced. */
export function jsonPath(keys: readonly string[]): string {
  let path = '$';
  for (const key of keys) {
    if (key.length === 0 || key.includes('"') || key.includes('\\')) {
      throw new Error(`Unsupported key in a job data filter: ${JSON.stringify(key)}`);
    }
    path += `."${key}"`;
  }
  return path;
}

/**
 * Condition that the JSON value at `path` inside `data` equals `value`, type-strictly: the string '1'
 * does not match the number 1 and `true` does not match 1. `null` matches a JSON null or a missing key.
 */
export function dataValueCondition(path: string, value: unknown): SqlCondition {
  const comparable = value instanceof Date ? value.toISOString() : value;
  if (comparable === null) return { sql: 'json_extract(data, ?) IS NULL', params: [path] };
  switch (typeof comparable) {
    case 'string':
      return { sql: "json_type(data, ?) = 'text' AND json_extract(data, ?) = ?", params: [path, path, comparable] };
    case 'number':
      if (!Number.isFinite(comparable)) throw new TypeError(`Cannot filter job data on a non-finite number at ${path}`);
      return {
        sql: "json_type(data, ?) IN ('integer', 'real') AND json_extract(data, ?) = ?",
        params: [path, path, comparable],
      };
    case 'boolean':
      return { sql: 'json_type(data, ?) = ?', params: [path, comparable ? 'true' : 'false'] };
    case 'object':
      // Arrays and objects compare as minified JSON text, like MongoDB's order-sensitive equality.
      return {
        sql: "json_type(data, ?) IN ('array', 'object') AND json_extract(data, ?) = json(?)",
        params: [path, path, JSON.stringify(comparable)],
      };
    default:
      throw new TypeError(`Cannot filter job data on a ${typeof comparable} value at ${path}`);
  }
}

function containmentConditions(filter: Record<string, unknown>, keys: string[]): SqlCondition[] {
  const conditions: SqlCondition[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    const path = [...keys, key];
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      conditions.push(...containmentConditions(value, path));
    } else {
      conditions.push(dataValueCondition(jsonPath(path), value));
    }
  }
  return conditions;
}

/**
 * Conditions for a `data` filter. A non-empty plain object is a partial match: every leaf it names must
 * be present with that value (nested objects recurse), other keys are ignored. Anything else, including
 * `{}`, must equal the stored data exactly, so a filter of `{}` never selects every job.
 */
export function dataFilterConditions(filter: unknown): SqlCondition[] {
  if (isPlainObject(filter)) {
    const conditions = containmentConditions(filter, []);
    if (conditions.length > 0) return conditions;
  }
  if (filter === null) return [{ sql: "data IS NULL OR data = 'null'", params: [] }];
  return [{ sql: 'data IS ?', params: [toDataJson(filter instanceof Date ? filter.toISOString() : filter)] }];
}

/** Top-level job fields a `unique` constraint may name, with their columns and how to bind their values. */
const UNIQUE_FIELD_COLUMNS: Record<string, { column: string; toSql: (value: unknown) => SqlValue }> = {
  name: { column: 'name', toSql: (v) => String(v) },
  type: { column: 'type', toSql: (v) => String(v) },
  priority: { column: 'priority', toSql: (v) => Number(v) },
  nextRunAt: { column: 'next_run_at', toSql: (v) => toEpochMs(v as Date | null) },
  repeatInterval: { column: 'repeat_interval', toSql: (v) => (v === null || v === undefined ? null : (v as string | number)) },
  repeatAt: { column: 'repeat_at', toSql: (v) => (v === null || v === undefined ? null : String(v)) },
  repeatTimezone: { column: 'repeat_timezone', toSql: (v) => (v === null || v === undefined ? null : String(v)) },
  disabled: { column: 'disabled', toSql: (v) => (v ? 1 : 0) },
};

/**
 * Conditions for a job's `unique` constraint (Agenda passes MongoDB-style dotted keys): 'data.<path>'
 * compares one value inside data, 'data' compares the whole data exactly, and a few top-level fields
 * (name, type, priority, nextRunAt, repeatInterval, repeatAt, repeatTimezone, disabled) compare columns.
 * MongoDB query operators ($in, ...) are not supported and other keys are rejected.
 */
export function uniqueConditions(unique: Record<string, unknown>): SqlCondition[] {
  const conditions: SqlCondition[] = [];
  for (const [key, given] of Object.entries(unique)) {
    // MongoDB's driver sends undefined as null, which matches a missing or null field; do the same.
    const value = given === undefined ? null : given;
    if (key === 'data') {
      conditions.push(
        value === null ? { sql: "data IS NULL OR data = 'null'", params: [] } : { sql: 'data IS ?', params: [toDataJson(value)] },
      );
    } else if (key.startsWith('data.')) {
      conditions.push(dataValueCondition(jsonPath(key.slice('data.'.length).split('.')), value));
    } else {
      const field = Object.hasOwn(UNIQUE_FIELD_COLUMNS, key) ? UNIQUE_FIELD_COLUMNS[key] : undefined;
      if (!field) {
        throw new Error(
          `Unsupported unique key ${JSON.stringify(key)} for the SQLite backend; use 'data.<path>' or one of ${Object.keys(UNIQUE_FIELD_COLUMNS).join(', ')}`,
        );
      }
      conditions.push({ sql: `${field.column} IS ?`, params: [field.toSql(value)] });
    }
  }
  return conditions;
}
