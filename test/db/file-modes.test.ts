import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('data at rest: file modes', () => {
  it('creates the data folder 0700 and the database, -wal, -shm and secret.key 0600, even under umask 000', async () => {
    const root = tempDir('audithook-modes-');
    roots.push(root);
    const dataDir = join(root, 'var', 'data'); // neither folder exists yet
    const previousUmask = process.umask(0o000); // the most permissive umask: modes must not depend on it
    let server: TestServer;
    try {
      // AUDITHOOK_SECRET_KEY empty: the key is generated into secret.key beside the database.
      server = await startTestServer({ DATABASE_URL: `sqlite:${join(dataDir, 'audithook.db')}`, AUDITHOOK_SECRET_KEY: '' }, { dir: root });
    } finally {
      process.umask(previousUmask);
    }
    try {
      const db = join(dataDir, 'audithook.db');
      await waitFor(() => existsSync(`${db}-wal`) && existsSync(`${db}-shm`));
      expect({
        parent: mode(join(root, 'var')),
        folder: mode(dataDir),
        db: mode(db),
        wal: mode(`${db}-wal`),
        shm: mode(`${db}-shm`),
        key: mode(join(dataDir, 'secret.key')),
      }).toEqual({ parent: '700', folder: '700', db: '600', wal: '600', shm: '600', key: '600' });
    } finally {
      await server.stop();
    }
  });

  it('narrows a database file left readable by others to 0600, and warns', async () => {
    const root = tempDir('audithook-modes-');
    roots.push(root);
    const first = await startTestServer({}, { dir: root });
    await first.stop();
    const db = join(root, 'audithook.db');
    chmodSync(db, 0o644); // what earlier versions left behind
    const server = await startTestServer({}, { dir: root, captureLogs: true });
    try {
      expect(mode(db)).toBe('600');
      expect(mode(`${db}-wal`)).toBe('600');
      const warning = server.logs.map((line) => JSON.parse(line)).find((l) => l.msg?.includes('narrowed to 0600'));
      expect(warning).toMatchObject({ level: 40, path: db, modeWas: '644' });
    } finally {
      await server.stop();
    }
  });

  it('warns about an existing data folder open to others, without changing it', async () => {
    const root = tempDir('audithook-modes-');
    roots.push(root);
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o755);
    writeFileSync(join(shared, 'other-file'), '');
    const server = await startTestServer({ DATABASE_URL: `sqlite:${join(shared, 'audithook.db')}` }, { dir: root, captureLogs: true });
    try {
      expect(mode(shared)).toBe('755');
      expect(mode(join(shared, 'audithook.db'))).toBe('600');
      expect(server.logs.some((line) => line.includes('database folder is accessible to other users'))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
