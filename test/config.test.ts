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
    expect(config.delivery).toEqual({ requestTimeoutMs: 10_000, retryDelaysMs: [5_000, 300_000, 1_800_000], testDelayMs: 5_000, maxBatchSize: 100, webhookConcurrency: 4, disableAfterMs: 5 * 86_400_000, disabledBufferMs: 7 * 86_400_000 });
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
    [{ AUDITHOOK_DISABLE_AFTER: 'a week' }, /AUDITHOOK_DISABLE_AFTER: expected a duration such as 500ms, 10s, 5m, 1h or 5d/],
    [{ AUDITHOOK_DISABLE_AFTER: '500ms' }, /AUDITHOOK_DISABLE_AFTER: expected at least 1s/],
    [{ AUDITHOOK_DISABLED_BUFFER: '-1d' }, /AUDITHOOK_DISABLED_BUFFER: expected a duration/],
    [{ AUDITHOOK_DISABLED_BUFFER: '0' }, /AUDITHOOK_DISABLED_BUFFER: expected at least 1s/],
    [{ AUDITHOOK_DELIVERY_RETENTION: 'a month' }, /AUDITHOOK_DELIVERY_RETENTION: expected a duration of at least 1s such as 30d, 12h or 90m, or off/],
    [{ AUDITHOOK_DELIVERY_RETENTION: '500ms' }, /AUDITHOOK_DELIVERY_RETENTION: expected a duration of at least 1s/],
    [{ AUDITHOOK_EVENT_RETENTION: '-1d' }, /AUDITHOOK_EVENT_RETENTION: expected a duration/],
    [{ AUDITHOOK_PRUNE_INTERVAL: 'hourly' }, /AUDITHOOK_PRUNE_INTERVAL: expected a duration/],
    [{ AUDITHOOK_PRUNE_INTERVAL: '10ms' }, /AUDITHOOK_PRUNE_INTERVAL: expected at least 100ms/],
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

  describe('DATABASE_URL for PostgreSQL', () => {
    const key = { AUDITHOOK_SECRET_KEY: Buffer.alloc(32, 3).toString('base64') };

    it.each(['postgres', 'postgresql'])('reads %s://user:password@host:port/database, with pool size and statement timeout defaults', (scheme) => {
      const config = loadConfig({ ...key, DATABASE_URL: `${scheme}://app:s%40cret@db.internal:6543/audit_log` }, dir());
      expect(config.database).toEqual({
        kind: 'postgresql',
        host: 'db.internal',
        port: 6543,
        database: 'audit_log',
        user: 'app',
        password: 's@cret',
        sslMode: 'disable',
        redactedUrl: `${scheme}://app:***@db.internal:6543/audit_log`,
        poolSize: 10,
        statementTimeoutMs: 30_000,
      });
    });

    it('defaults the port to 5432, honours sslmode, and reads AUDITHOOK_DB_POOL_SIZE and AUDITHOOK_DB_STATEMENT_TIMEOUT', () => {
      const config = loadConfig({ ...key, DATABASE_URL: 'postgres://app@[::1]/audit?sslmode=require', AUDITHOOK_DB_POOL_SIZE: '25', AUDITHOOK_DB_STATEMENT_TIMEOUT: '5s' }, dir());
      expect(config.database).toMatchObject({ host: '::1', port: 5432, password: null, sslMode: 'require', poolSize: 25, statementTimeoutMs: 5_000 });
      expect(loadConfig({ ...key, DATABASE_URL: 'postgres://app@h/d?sslmode=verify-full' }, dir()).database).toMatchObject({ sslMode: 'verify-full' });
    });

    it('needs AUDITHOOK_SECRET_KEY (no file beside the database to generate one into; every process must share it)', () => {
      expect(() => loadConfig({ DATABASE_URL: 'postgres://app:pw@h/d' }, dir())).toThrow(/^AUDITHOOK_SECRET_KEY: required with a PostgreSQL DATABASE_URL/);
    });

    it.each([
      ['postgres://app:hunter2@/audit', /DATABASE_URL: not a valid URL/],
      ['postgres://app:hunter2@db', /DATABASE_URL: no database name/],
      ['postgres://:hunter2@db/audit', /DATABASE_URL: no user name/],
      ['postgres://app:hunter2@db/audit?sslmode=prefer', /DATABASE_URL: sslmode must be one of disable, require, verify-ca, verify-full, got "prefer"/],
      ['postgres://app:hunter2@db/audit?schema=x', /DATABASE_URL: unsupported parameter "schema"/],
      ['postgres://app:hunter2@db:99999/audit', /DATABASE_URL: not a valid URL/],
      ['mysql://app:hunter2@db/audit', /DATABASE_URL: expected sqlite:<path to file> .* or postgres:\/\/user:password@host:port\/database, got "mysql:\/\/app:\*\*\*@db\/audit"/],
    ])('refuses %s naming DATABASE_URL, without the password', (url, message) => {
      const load = () => loadConfig({ ...key, DATABASE_URL: url }, dir());
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(message);
      expect(load).not.toThrow(/hunter2/);
    });

    it.each([
      [{ AUDITHOOK_DB_POOL_SIZE: '0' }, /AUDITHOOK_DB_POOL_SIZE: expected a whole number from 1 to 200/],
      [{ AUDITHOOK_DB_POOL_SIZE: 'many' }, /AUDITHOOK_DB_POOL_SIZE/],
      [{ AUDITHOOK_DB_STATEMENT_TIMEOUT: '10' }, /AUDITHOOK_DB_STATEMENT_TIMEOUT: expected at least 100ms/],
      [{ AUDITHOOK_DB_STATEMENT_TIMEOUT: 'long' }, /AUDITHOOK_DB_STATEMENT_TIMEOUT: expected a duration/],
    ])('refuses %o naming the variable', (env, message) => {
      expect(() => loadConfig({ ...key, DATABASE_URL: 'postgres://app@h/d', ...env }, dir())).toThrow(message);
    });
  });

  it('reads durations with units', () => {
    const config = loadConfig({ AUDITHOOK_REQUEST_TIMEOUT: '1500ms', AUDITHOOK_RETRY_DELAYS: '1s, 2m, 1h', AUDITHOOK_TEST_DELAY: '0' }, dir());
    expect(config.delivery.requestTimeoutMs).toBe(1500);
    expect(config.delivery.retryDelaysMs).toEqual([1000, 120_000, 3_600_000]);
    expect(config.delivery.testDelayMs).toBe(0);
  });

  it('reads the disable settings in days or shorter units (tests use seconds)', () => {
    const config = loadConfig({ AUDITHOOK_DISABLE_AFTER: '2d', AUDITHOOK_DISABLED_BUFFER: '36h' }, dir());
    expect(config.delivery.disableAfterMs).toBe(2 * 86_400_000);
    expect(config.delivery.disabledBufferMs).toBe(36 * 3_600_000);
    const short = loadConfig({ AUDITHOOK_DISABLE_AFTER: '1500ms', AUDITHOOK_DISABLED_BUFFER: '3s' }, dir());
    expect(short.delivery).toMatchObject({ disableAfterMs: 1500, disabledBufferMs: 3000 });
  });

  it('keeps finished deliveries 30 days and audit events forever by default, pruning hourly', () => {
    expect(loadConfig({}, dir()).retention).toEqual({ deliveryRetentionMs: 30 * 86_400_000, eventRetentionMs: null, pruneIntervalMs: 3_600_000 });
  });

  it('reads retentions in days or shorter units, and off', () => {
    const config = loadConfig({ AUDITHOOK_DELIVERY_RETENTION: '7d', AUDITHOOK_EVENT_RETENTION: '365d', AUDITHOOK_PRUNE_INTERVAL: '15m' }, dir());
    expect(config.retention).toEqual({ deliveryRetentionMs: 7 * 86_400_000, eventRetentionMs: 365 * 86_400_000, pruneIntervalMs: 900_000 });
    expect(loadConfig({ AUDITHOOK_DELIVERY_RETENTION: '12h', AUDITHOOK_EVENT_RETENTION: 'OFF' }, dir()).retention).toMatchObject({ deliveryRetentionMs: 43_200_000, eventRetentionMs: null });
    expect(loadConfig({ AUDITHOOK_DELIVERY_RETENTION: 'off', AUDITHOOK_EVENT_RETENTION: '90m' }, dir()).retention).toMatchObject({ deliveryRetentionMs: null, eventRetentionMs: 5_400_000 });
  });
});
