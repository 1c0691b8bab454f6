import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationSources } from '../../src/console/api/operations.js';
import { ROOT_DIR } from './support/browser.js';

// Every operation the console sends must be valid against the public contract (it uses nothing else)
// and against the schema the server generates.

const CONTRACT = join(ROOT_DIR, '..', 'shared', 'contract', 'audithook.graphql');
const GENERATED = join(ROOT_DIR, 'schema', 'schema.graphql');

describe('console operations', () => {
  it('are all collected, one name each', () => {
    expect(operationSources.length).toBeGreaterThanOrEqual(18);
    const names = operationSources.map((source) => /\b(?:query|mutation|subscription)\s+(\w+)/.exec(source)?.[1]);
    expect(names.every(Boolean)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });

  for (const [label, file] of [
    ['the public contract', CONTRACT],
    ['the generated schema', GENERATED],
  ] as const) {
    it.runIf(existsSync(file))(`validate against ${label}`, () => {
      const schema = buildSchema(readFileSync(file, 'utf8'));
      for (const source of operationSources) {
        const errors = validate(schema, parse(source));
        expect(errors.map((e) => e.message), source).toEqual([]);
      }
    });
  }
});
