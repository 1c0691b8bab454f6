import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationSources } from '../../src/console/api/operations.js';
import { ROOT_DIR } from './support/browser.js';

// Every operation the console sends must be valid against the public contract (it uses nothing else;
// the operations issue's additions, such as Webhook.disabledReason, extend it) and against the schema
// the server generates.

const CONTRACT = join(ROOT_DIR, '..', 'shared', 'contract', 'audithook.graphql');
const CONTRACT_ADDITIONS = join(ROOT_DIR, '..', 'shared', 'contract', 'operations.graphql');
const GENERATED = join(ROOT_DIR, 'schema', 'schema.graphql');

/** The SDL of `file`, with the contract's additions appended to the contract itself. */
function sdlOf(file: string): string {
  const sdl = readFileSync(file, 'utf8');
  return file === CONTRACT && existsSync(CONTRACT_ADDITIONS) ? `${sdl}\n${readFileSync(CONTRACT_ADDITIONS, 'utf8')}` : sdl;
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
      const schema = buildSchema(sdlOf(file));
      for (const source of operationSources) {
        const errors = validate(schema, parse(source));
        expect(errors.map((e) => e.message), source).toEqual([]);
      }
    });
  }
});
