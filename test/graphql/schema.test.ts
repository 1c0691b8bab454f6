import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSchema, schemaSdl } from '../../src/graphql/schema.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('schema/schema.graphql', () => {
  it('is what the resolvers generate (run `npm run schema` after changing them)', async () => {
    const committed = readFileSync(`${root}schema/schema.graphql`, 'utf8');
    expect(schemaSdl(await createSchema())).toBe(committed);
  });

  it.runIf(existsSync(`${root}../shared/contract/check.mjs`))('honours the public contract', () => {
    const output = execFileSync(process.execPath, [`${root}../shared/contract/check.mjs`], { cwd: root, encoding: 'utf8' });
    expect(output).toContain('contract: compatible');
  });

  // The operations issue's names (operations.graphql); on failure the diff lists the missing ones.
  it.runIf(existsSync(`${root}../shared/contract/operations.graphql`))('has every name of the operations issue (check.mjs --with operations.graphql exits 0)', () => {
    const check = spawnSync(process.execPath, [`${root}../shared/contract/check.mjs`, '--with', 'operations.graphql'], { cwd: root, encoding: 'utf8' });
    expect({ exitCode: check.status, output: check.stdout.trim() }).toEqual({ exitCode: 0, output: 'contract: compatible' });
  });
});
