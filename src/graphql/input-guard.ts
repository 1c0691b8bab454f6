import { isInputObjectType, isListType, isNonNullType, type GraphQLArgument, type GraphQLInputType } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { badInput } from '../lib/app-error.js';
import { MAX_TIME_MS, MIN_TIME_MS } from '../lib/paging.js';

/** How deeply a scalar value (a JSONObject such as AuditObjectInput.attributes) may nest: objects and arrays count one level each. */
export const MAX_JSON_DEPTH = 32;
/**
 * How deeply `{`, `[` and `(` may nest in a GraphQL document. graphql-js parses and validates
 * literals recursively, so a document nested thousands deep would overflow the stack before any
 * argument check could run; this bound sits well above any real operation plus MAX_JSON_DEPTH.
 */
export const MAX_DOCUMENT_DEPTH = 64;

/** Built-in scalars whose coerced values hold no strings. */
const NON_TEXT_SCALARS = new Set(['Int', 'Float', 'Boolean']);
/** Object keys short and plain enough to appear in an error's field path. */
const PATH_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

type Item =
  | { kind: 'typed'; value: unknown; type: GraphQLInputType; path: string }
  | { kind: 'scalar'; value: unknown; depth: number; path: string; root: string };

function join(path: string, segment: string | number): string {
  return path ? `${path}.${segment}` : String(segment);
}

function lastSegment(path: string): string {
  return path.split('.').at(-1) ?? path;
}

/**
 * Throws BAD_USER_INPUT at `path` when a string holds U+0000 or is not well-formed UTF-16 (a lone
 * surrogate). `what` names it in the message and is only computed then (this runs for every string of every call).
 */
function checkText(text: string, path: string, what: () => string): void {
  if (text.includes('\u0000')) throw badInput(path, `${what()} must not contain the NUL character (U+0000)`);
  if (!text.isWellFormed()) throw badInput(path, `${what()} must be well-formed Unicode (it holds a lone surrogate, e.g. \\ud800)`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Checks coerced argument values against their GraphQL types, iteratively (no recursion, so no
 * value can overflow the stack): every string, input-object field and JSON scalar value or key is
 * free of U+0000 and lone surrogates, JSON scalars nest at most MAX_JSON_DEPTH levels and hold
 * only finite numbers. Throws BAD_USER_INPUT naming the path, e.g. `input.actor.id`.
 */
export function checkArguments(args: Record<string, unknown>, definitions: readonly GraphQLArgument[]): void {
  const stack: Item[] = [];
  for (const definition of definitions) {
    if (args[definition.name] !== undefined) stack.push({ kind: 'typed', value: args[definition.name], type: definition.type, path: definition.name });
  }
  while (stack.length > 0) {
    const item = stack.pop()!;
    const { value, path } = item;
    if (value === null || value === undefined) continue;
    if (item.kind === 'typed') {
      const type = isNonNullType(item.type) ? item.type.ofType : item.type;
      if (isListType(type)) {
        if (Array.isArray(value)) value.forEach((element, index) => stack.push({ kind: 'typed', value: element, type: type.ofType, path: join(path, index) }));
        continue;
      }
      if (isInputObjectType(type)) {
        const fields = type.getFields();
        for (const [key, fieldValue] of Object.entries(value as Record<string, unknown>)) {
          const field = fields[key];
          if (field) stack.push({ kind: 'typed', value: fieldValue, type: field.type, path: join(path, key) });
        }
        continue;
      }
      if ('name' in type && NON_TEXT_SCALARS.has(type.name)) continue;
      // String, ID, enums (already one of their names) and custom scalars: check the coerced value itself.
      stack.push({ kind: 'scalar', value, depth: 0, path, root: path });
      continue;
    }
    if (value instanceof Date) {
      // DateTimeISO accepts years 0000-9999; PostgreSQL has no year 0, so one range for every database.
      const ms = value.getTime();
      if (!(ms >= MIN_TIME_MS && ms <= MAX_TIME_MS)) throw badInput(path, `${lastSegment(path)} must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z`);
    } else if (typeof value === 'string') {
      checkText(value, path, () => lastSegment(path));
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw badInput(path, `${lastSegment(path)} must be a finite number`);
    } else if (Array.isArray(value) || isPlainObject(value)) {
      const depth = item.depth + 1;
      if (depth > MAX_JSON_DEPTH) throw badInput(item.root, `${lastSegment(item.root)} nests deeper than ${MAX_JSON_DEPTH} levels`);
      if (Array.isArray(value)) {
        value.forEach((element, index) => stack.push({ kind: 'scalar', value: element, depth, path: join(path, index), root: item.root }));
      } else {
        for (const [key, element] of Object.entries(value)) {
          checkText(key, path, () => `a key of ${lastSegment(path)}`);
          stack.push({ kind: 'scalar', value: element, depth, path: PATH_SEGMENT.test(key) ? join(path, key) : path, root: item.root });
        }
      }
    }
    // Dates (DateTimeISO), booleans and other parsed scalar values carry no text.
  }
}

/**
 * Every operation's arguments pass checkArguments before its resolver runs, so no service sees
 * (and no row stores) a string that SQLite or the webhook receiver would read differently.
 */
export const inputGuard: MiddlewareFn = ({ args, info }, next) => {
  if (Object.keys(args).length > 0) {
    const field = info.parentType.getFields()[info.fieldName];
    checkArguments(args, field?.args ?? []);
  }
  return next();
};

/**
 * True when `{`, `[` or `(` nest deeper than `maxDepth` in a GraphQL document, outside strings
 * and comments. A single pass with a counter, so it is safe on any input size.
 */
export function documentTooDeep(source: string, maxDepth: number = MAX_DOCUMENT_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (char === '"') {
      if (source.startsWith('"""', i)) {
        i += 3;
        while (i < source.length && !source.startsWith('"""', i)) i += source.startsWith('\\"""', i) ? 4 : 1;
        i += 2;
      } else {
        i++;
        while (i < source.length && source[i] !== '"' && source[i] !== '\n' && source[i] !== '\r') i += source[i] === '\\' ? 2 : 1;
      }
    } else if (char === '{' || char === '[' || char === '(') {
      if (++depth > maxDepth) return true;
    } else if (char === '}' || char === ']' || char === ')') {
      if (depth > 0) depth--;
    }
  }
  return false;
}
