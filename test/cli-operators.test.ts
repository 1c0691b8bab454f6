import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runCli } from './support/cli-process.js';
import { startServerProcess } from './support/server-process.js';
import { startTestServer, TEST_ENV } from './support/server.js';
import { testDatabaseUrl } from './support/test-database.js';

const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('operator commands of the compiled CLI (child processes)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audithook-cli-ops-'));
    env = { DATABASE_URL: await testDatabaseUrl(dir), AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY!, LOG_LEVEL: 'silent' };
    expect((await runCli(['migrate'], env)).code).toBe(0);
  });

  it('with no arguments prints the usage and exits 2 instead of starting a server', async () => {
    const result = await runCli([], env, { timeoutMs: 15_000 });
    expect(result.signal).toBeNull(); // not killed by the time limit: it did not sit serving
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no command given/);
    expect(result.stderr).toMatch(/usage: audithook <command>/);
    expect(result.stderr).toMatch(/receive \[--port 8080\]/);
  });

  it('--version prints the package version and --help the usage, both exit 0 without configuration', async () => {
    const version = await runCli(['--version'], { PORT: 'not-a-port' });
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const help = await runCli(['--help'], { PORT: 'not-a-port' });
    expect(help.code).toBe(0);
    for (const command of ['org list', 'token list --org', 'token revoke --org <id> --id', 'receive', '--version']) expect(help.stdout).toContain(command);
  });

  it('org list, token create --role ingest (any case), token list and token revoke, recorded as the operator', async () => {
    const acme = JSON.parse((await runCli(['org', 'create', '--name', 'Acme', '--json'], env)).stdout) as { organization: { id: string }; token: string };
    const globex = JSON.parse((await runCli(['org', 'create', '--name', 'Globex', '--json'], env)).stdout) as { organization: { id: string } };
    const orgId = acme.organization.id;

    const listed = await runCli(['org', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    const { organizations } = JSON.parse(listed.stdout) as { organizations: { id: string; name: string; createdAt: string }[] };
    expect(organizations.map((o) => [o.id, o.name])).toEqual([
      [orgId, 'Acme'],
      [globex.organization.id, 'Globex'],
    ]);
    const text = await runCli(['org', 'list'], env);
    expect(text.stdout).toMatch(new RegExp(`^${orgId}  Acme  created `, 'm'));

    const created = await runCli(['token', 'create', '--org', orgId, '--role', 'ingest', '--label', 'ci', '--json'], env);
    expect(created.code).toBe(0);
    const ingest = JSON.parse(created.stdout) as { apiToken: { id: string; role: string }; token: string };
    expect(ingest.apiToken.role).toBe('INGEST');

    const tokens = await runCli(['token', 'list', '--org', orgId, '--json'], env);
    expect(tokens.code).toBe(0);
    expect(tokens.stdout).not.toContain(ingest.token);
    expect(tokens.stdout).not.toContain(acme.token);
    const { apiTokens } = JSON.parse(tokens.stdout) as { apiTokens: { id: string; role: string; label: string | null }[] };
    expect(apiTokens.map((t) => [t.role, t.label])).toEqual([
      ['INGEST', 'ci'],
      ['ADMIN', 'initial admin token'],
    ]);
    expect(apiTokens[0]!.id).toBe(ingest.apiToken.id);

    const revoked = await runCli(['token', 'revoke', '--org', orgId, '--id', ingest.apiToken.id], env);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${ingest.apiToken.id}\n` });
    const again = await runCli(['token', 'revoke', '--org', orgId, '--id', ingest.apiToken.id], env);
    expect(again).toMatchObject({ code: 0, stdout: `${ingest.apiToken.id} was already revoked\n` });
    const after = JSON.parse((await runCli(['token', 'list', '--org', orgId, '--json'], env)).stdout) as { apiTokens: { id: string }[] };
    expect(after.apiTokens.map((t) => t.id)).not.toContain(ingest.apiToken.id);

    // Another organization's token is not found through this one; usage errors exit 2.
    const wrongOrg = await runCli(['token', 'revoke', '--org', globex.organization.id, '--id', apiTokens[1]!.id], env);
    expect(wrongOrg.code).toBe(1);
    expect(wrongOrg.stderr).toMatch(/no API token/);
    expect((await runCli(['token', 'revoke', '--org', orgId], env)).code).toBe(2);
    expect((await runCli(['token', 'list'], env)).code).toBe(2);
    const missingOrg = await runCli(['token', 'list', '--org', 'org_missing'], env);
    expect(missingOrg.code).toBe(1);
    expect(missingOrg.stderr).toMatch(/no organization org_missing/);

    const server = await startTestServer({}, { dir });
    try {
      const asRevoked = await server.gql(`query { viewer { role } }`, {}, ingest.token);
      expect(asRevoked.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const events = await server.gql(
        `query($org: ID!) { auditEvents(organizationId: $org, first: 10, filter: { action: "api_token_revoked" }) { edges { node { action actor { id type } context { id type } } } } }`,
        { org: orgId },
        acme.token,
      );
      expect(events.data!.auditEvents.edges).toEqual([
        { node: { action: 'api_token_revoked', actor: { id: 'cli', type: 'operator' }, context: [{ id: ingest.apiToken.id, type: 'api_token' }] } },
      ]);
    } finally {
      await server.stop();
    }
  });

  describe('serve', () => {
    let stop: (() => Promise<unknown>) | undefined;
    afterAll(async () => {
      await stop?.();
    });

    it('names the GraphQL, console and GraphiQL URLs on its start-up line and warns about each development flag', async () => {
      const server = await startServerProcess({ ...env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', AUDITHOOK_ALLOW_HTTP: 'true', AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'true' });
      stop = () => server.stop();
      const origin = new URL(server.url).origin;
      const listening = server.logs.find((e) => e.msg?.includes('listening'))!;
      expect(server.url).toBe(`${origin}/graphql`);
      expect(listening).toMatchObject({ consoleUrl: `${origin}/`, graphiqlUrl: `${origin}/graphiql` });
      expect(listening.msg).toContain(`console ${origin}/`);
      expect(listening.msg).toContain(`GraphiQL ${origin}/graphiql`);
      const warning = (flag: string) => server.logs.some((e) => e.level === 40 && e.msg?.startsWith(`${flag} is on`));
      await expect.poll(() => warning('AUDITHOOK_ALLOW_HTTP') && warning('AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS')).toBe(true);
    });
  });
});
