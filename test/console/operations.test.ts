import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, extendSchema, parse, validate, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationSources } from '../../src/console/api/operations.js';
import { ROOT_DIR } from './support/browser.js';

// Every operation the console sends must be valid against the public contract (it uses nothing else:
// audithook.graphql with the operations issue's additions, operations.graphql) and against the schema the
// server generates.

const CONTRACT = join(ROOT_DIR, '..', 'shared', 'contract', 'audithook.graphql');
const OPERATIONS = join(ROOT_DIR, '..', 'shared', 'contract', 'operations.graphql');
const GENERATED = join(ROOT_DIR, 'schema', 'schema.graphql');

/** A schema file, with the operations issue's extensions when it is the contract (and they exist). */
function schemaOf(file: string): GraphQLSchema {
  const schema = buildSchema(readFileSync(file, 'utf8'));
  return file === CONTRACT && existsSync(OPERATIONS) ? extendSchema(schema, parse(readFileSync(OPERATIONS, 'utf8'))) : schema;
}

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
      const schema = schemaOf(file);
      for (const source of operationSources) {
        const errors = validate(schema, parse(source));
        expect(errors.map((e) => e.message), source).toEqual([]);
      }
    });
  }
});
