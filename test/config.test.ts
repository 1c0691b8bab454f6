import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseServeRole } from '../src/config.js';

const made: string[] = [];
/** A fresh temp folder, removed after the file's tests. */
const dir = () => {
  const path = mkdtempSync(join(tmpdir(), 'audithook-config-'));
  made.push(path);
  return path;
};
afterAll(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has the documented defaults and generates secret.key once with mode 0600', () => {
    const cwd = dir();
    const config = loadConfig({}, cwd);
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', allowHttp: false, allowPrivateDestinations: false, logLevel: 'info' });
    expect(config.database).toEqual({ kind: 'sqlite', path: join(cwd, 'data/audithook.db') });
    expect(config.delivery).toEqual({ requestTimeoutMs: 10_000, retryDelaysMs: [5_000, 300_000, 1_800_000], testDelayMs: 5_000, maxBatchSize: 100, webhookConcurrency: 4 });
    const keyFile = join(cwd, 'data/secret.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(cwd, 'data')).mode & 0o777).toBe(0o700);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(loadConfig({}, cwd).secretKey.equals(config.secretKey)).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ AUDITHOOK_ALLOW_HTTP: 'maybe' }, /AUDITHOOK_ALLOW_HTTP: expected true or false/],
    [{ AUDITHOOK_SECRET_KEY: 'c2hvcnQ=' }, /AUDITHOOK_SECRET_KEY: expected the base64 encoding of exactly 32 bytes/],
    [{ AUDITHOOK_SECRET_KEY_PREVIOUS: 'c2hvcnQ=' }, /AUDITHOOK_SECRET_KEY_PREVIOUS: expected the base64 encoding of exactly 32 bytes/],
    [{ AUDITHOOK_SECRET_KEY_PREVIOUS: `${Buffer.alloc(32, 1).toString('base64')},nope` }, /AUDITHOOK_SECRET_KEY_PREVIOUS \(key 2 of 2\): expected/],
    [{ DATABASE_URL: 'mysql://db/x' }, /DATABASE_URL: expected sqlite:/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ AUDITHOOK_RETRY_DELAYS: '5s,5m' }, /AUDITHOOK_RETRY_DELAYS: expected three/],
    [{ AUDITHOOK_REQUEST_TIMEOUT: 'soon' }, /AUDITHOOK_REQUEST_TIMEOUT: expected a duration/],
    [{ AUDITHOOK_WEBHOOK_CONCURRENCY: '0' }, /AUDITHOOK_WEBHOOK_CONCURRENCY/],
    [{ AUDITHOOK_ROLE: 'scheduler' }, /AUDITHOOK_ROLE: expected one of all, api, worker/],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => loadConfig(env as Record<string, string>, dir())).toThrow(ConfigError);
    expect(() => loadConfig(env as Record<string, string>, dir())).toThrow(message);
  });

  it('reads AUDITHOOK_ROLE in any case, default all', () => {
    expect(loadConfig({}, dir()).role).toBe('all');
    expect(loadConfig({ AUDITHOOK_ROLE: 'API' }, dir()).role).toBe('api');
    expect(loadConfig({ AUDITHOOK_ROLE: ' Worker ' }, dir()).role).toBe('worker');
    expect(parseServeRole('WORKER')).toBe('worker');
    expect(parseServeRole('both')).toBeNull();
  });

  it('reads previous secret keys, one or several separated by commas', () => {
    const [a, b] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    expect(loadConfig({}, dir()).previousSecretKeys).toEqual([]);
    expect(loadConfig({ AUDITHOOK_SECRET_KEY_PREVIOUS: a.toString('base64') }, dir()).previousSecretKeys).toEqual([a]);
    expect(loadConfig({ AUDITHOOK_SECRET_KEY_PREVIOUS: `${a.toString('base64')}, ${b.toString('base64')}` }, dir()).previousSecretKeys).toEqual([a, b]);
  });

  it('reads durations with units', () => {
    const config = loadConfig({ AUDITHOOK_REQUEST_TIMEOUT: '1500ms', AUDITHOOK_RETRY_DELAYS: '1s, 2m, 1h', AUDITHOOK_TEST_DELAY: '0' }, dir());
    expect(config.delivery.requestTimeoutMs).toBe(1500);
    expect(config.delivery.retryDelaysMs).toEqual([1000, 120_000, 3_600_000]);
    expect(config.delivery.testDelayMs).toBe(0);
  });
});
