#!/usr/bin/env node
import './node-version-guard.js'; // first: refuses an older Node before anything loads native code
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, parseServeRole, SERVE_ROLES, type Config } from './config.js';
import { openDatabase } from './db/orm.js';
import { AppError, badInput } from './lib/app-error.js';
import { createLogger } from './lib/logger.js';
import { PACKAGE_VERSION } from './lib/package-info.js';
import { describeStartupFailure } from './lib/startup-failure.js';
import { isSigningSecret } from './delivery/signing.js';
import { Role } from './modules/roles.js';
import { createServices } from './modules/services.js';
import { GRAPHIQL_PATH } from './web/console-routes.js';

const USAGE = `usage: audithook <command>

commands:
  serve [--role all|api|worker]           run the server (npm start); api: GraphQL, WebSocket and console, sends
                                          nothing; worker: delivers, serves only /healthz and /metrics; all (default)
                                          does both (also AUDITHOOK_ROLE)
  migrate                                 apply pending database migrations
  reencrypt                               re-encrypt every stored secret under AUDITHOOK_SECRET_KEY
                                          (after a key rotation; old key in AUDITHOOK_SECRET_KEY_PREVIOUS)
  org create --name <name> [--json]       create an organization and its first ADMIN token
  org list [--json]                       list organizations
  token create --org <id> --role ADMIN|INGEST [--label <text>] [--json]
                                          create an API token for an organization
  token list --org <id> [--json]          list an organization's live API tokens (never their secrets)
  token revoke --org <id> --id <tok_…>    revoke an API token (recorded as api_token_revoked by the operator)
  receive [--port 8080] [--secret whsec_…] [--basic user:pass] [--forward URL] [--json]
                                          a local webhook receiver on 127.0.0.1: verifies the signature and
                                          credential, prints one line per event, passes verified requests on
  --version                               print the version
  --help                                  print this help

configuration comes from the environment (PORT, HOST, DATABASE_URL, ...; see README)`;

/** A wrong command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

async function withServices<T>(config: Config, fn: (services: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const orm = await openDatabase(config.database);
  try {
    return await fn(createServices(orm, config));
  } finally {
    await orm.close(true);
  }
}

async function serve(config: Config): Promise<void> {
  const { startApp } = await import('./app.js');
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, logger);
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down: finishing requests and deliveries in flight');
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Announced only once the handlers are in place: a supervisor that signals on this line gets a graceful stop.
  if (config.role === 'worker') {
    logger.info({ url: app.url, role: config.role }, `audithook worker listening on ${app.url} (/healthz and /metrics only); delivering webhooks`);
  } else {
    const consoleUrl = new URL('/', app.url).href;
    const graphiqlUrl = new URL(GRAPHIQL_PATH, app.url).href;
    const role = config.role === 'api' ? ' (role api: sends nothing, workers deliver)' : '';
    logger.info({ url: app.url, consoleUrl, graphiqlUrl, role: config.role }, `audithook listening on ${app.url} (GraphQL); console ${consoleUrl}, GraphiQL ${graphiqlUrl}${role}`);
  }
  if (config.allowHttp) logger.warn('AUDITHOOK_ALLOW_HTTP is on: webhooks may use plain http://, so audit events can cross the network unencrypted');
  if (config.allowPrivateDestinations) {
    logger.warn('AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS is on: webhooks may reach loopback and private addresses (development only)');
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  // Commands that need no configuration (and no database) come first.
  switch (command) {
    case undefined:
      throw new UsageError('no command given (to run the server: audithook serve)');
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    case '--version':
    case 'version':
      console.log(PACKAGE_VERSION);
      return;
    case 'receive':
      return receive(argv.slice(1));
  }
  const config = loadConfig();
  switch (command) {
    case 'serve': {
      const { values } = parseOptions(argv.slice(1), { role: { type: 'string' } });
      if (values.role === undefined) return serve(config);
      const role = typeof values.role === 'string' ? parseServeRole(values.role) : null;
      if (!role) throw new UsageError(`--role must be one of ${SERVE_ROLES.join(', ')}, got "${String(values.role)}"`);
      return serve({ ...config, role });
    }
    case 'migrate': {
      if (sub !== undefined) throw new UsageError(`migrate takes no arguments, got "${sub}"`);
      const orm = await openDatabase(config.database, { migrate: false });
      try {
        const applied = await orm.migrator.up();
        console.log(applied.length === 0 ? 'database is up to date' : `applied ${applied.map((m) => m.name).join(', ')}`);
      } finally {
        await orm.close(true);
      }
      return;
    }
    case 'reencrypt': {
      if (sub !== undefined) throw new UsageError(`reencrypt takes no arguments, got "${sub}"`);
      const report = await withServices(config, (s) => s.webhooks.resealAll());
      if (!report.ok) {
        console.error(`audithook: reencrypt: ${report.message}`);
        process.exitCode = 1;
        return;
      }
      console.log(`re-encrypted ${report.rewritten} secret value(s) under the current key; ${report.alreadyCurrent} already were`);
      return;
    }
    case 'org': {
      if (sub === 'list') return orgList(config, rest);
      if (sub !== 'create') throw new UsageError(`unknown org command "${sub ?? ''}"; expected: org create --name <name>, org list`);
      const { values } = parseOptions(rest, { name: { type: 'string' }, json: { type: 'boolean' } });
      if (typeof values.name !== 'string' || values.name.trim() === '') throw new UsageError('org create needs --name <name>');
      const name = values.name;
      const created = await withServices(config, (s) => s.organizations.create(name));
      const output = { organization: { id: created.organization.id, name: created.organization.name }, token: created.token };
      if (values.json) console.log(JSON.stringify(output));
      else console.log(`organization ${output.organization.id} (${output.organization.name})\nADMIN token (shown once): ${output.token}`);
      return;
    }
    case 'token': {
      if (sub === 'list') return tokenList(config, rest);
      if (sub === 'revoke') return tokenRevoke(config, rest);
      if (sub !== 'create') {
        throw new UsageError(`unknown token command "${sub ?? ''}"; expected: token create --org <id> --role ADMIN|INGEST, token list, token revoke`);
      }
      const { values } = parseOptions(rest, { org: { type: 'string' }, role: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' } });
      if (typeof values.org !== 'string' || values.org === '') throw new UsageError('token create needs --org <organization id>');
      const role = typeof values.role === 'string' ? values.role.toUpperCase() : undefined;
      if (role !== Role.ADMIN && role !== Role.INGEST) throw new UsageError('token create needs --role ADMIN or --role INGEST');
      const org = values.org;
      const label = typeof values.label === 'string' ? values.label : null;
      const created = await withServices(config, (s) => s.organizations.createToken(org, role, label));
      const output = { apiToken: { id: created.tokenId, organizationId: org, role, label }, token: created.token };
      if (values.json) console.log(JSON.stringify(output));
      else console.log(`${role} token ${created.tokenId} for ${org} (shown once): ${created.token}`);
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function orgList(config: Config, args: string[]): Promise<void> {
  const { values } = parseOptions(args, { json: { type: 'boolean' } });
  const organizations = await withServices(config, (s) => s.organizations.list());
  const rows = organizations.map((o) => ({ id: o.id, name: o.name, createdAt: o.createdAt.toISOString() }));
  if (values.json) console.log(JSON.stringify({ organizations: rows }));
  else if (rows.length === 0) console.log('no organizations (create one: audithook org create --name <name>)');
  else for (const row of rows) console.log(`${row.id}  ${row.name}  created ${row.createdAt}`);
}

async function tokenList(config: Config, args: string[]): Promise<void> {
  const { values } = parseOptions(args, { org: { type: 'string' }, json: { type: 'boolean' } });
  const org = requireOrg(values.org, 'token list');
  const tokens = await withServices(config, async (s) => {
    if (!(await s.organizations.get(org))) throw badInput('org', `no organization ${org}`);
    return s.apiTokens.list(org);
  });
  const rows = tokens.map((t) => ({
    id: t.id,
    role: t.role,
    label: t.label,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt ? t.lastUsedAt.toISOString() : null,
  }));
  if (values.json) console.log(JSON.stringify({ apiTokens: rows }));
  else if (rows.length === 0) console.log(`no live API tokens for ${org}`);
  else for (const r of rows) console.log(`${r.id}  ${r.role}  ${r.label ?? '-'}  created ${r.createdAt}  last used ${r.lastUsedAt ?? 'never'}`);
}

async function tokenRevoke(config: Config, args: string[]): Promise<void> {
  const { values } = parseOptions(args, { org: { type: 'string' }, id: { type: 'string' } });
  const org = requireOrg(values.org, 'token revoke');
  if (typeof values.id !== 'string' || values.id === '') throw new UsageError('token revoke needs --id <tok_…>');
  const id = values.id;
  const revoked = await withServices(config, async (s) => {
    if (!(await s.organizations.get(org))) throw badInput('org', `no organization ${org}`);
    return s.apiTokens.revokeAsOperator(org, id);
  });
  console.log(revoked ? `revoked ${id}` : `${id} was already revoked`);
}

function requireOrg(value: string | boolean | undefined, command: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`${command} needs --org <organization id>`);
  return value;
}

async function receive(args: string[]): Promise<void> {
  const { values } = parseOptions(args, {
    port: { type: 'string' },
    secret: { type: 'string' },
    basic: { type: 'string' },
    forward: { type: 'string' },
    json: { type: 'boolean' },
  });
  const portText = typeof values.port === 'string' ? values.port : '8080';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be a port number (0 picks a free one), got "${portText}"`);
  const secret = typeof values.secret === 'string' ? values.secret : null;
  if (secret !== null && !isSigningSecret(secret)) throw new UsageError('--secret must be the webhook\'s whsec_… signing secret');
  const basic = typeof values.basic === 'string' ? values.basic : null;
  if (basic !== null && !basic.includes(':')) throw new UsageError('--basic must be user:pass');
  const forwardUrl = typeof values.forward === 'string' ? values.forward : null;
  if (forwardUrl !== null && !(/^https?:\/\//i.test(forwardUrl) && URL.canParse(forwardUrl))) {
    throw new UsageError('--forward must be an http:// or https:// URL');
  }
  const { startReceiver } = await import('./receiver/receive.js');
  const receiver = await startReceiver({
    port,
    secret,
    basic,
    forwardUrl,
    json: values.json === true,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
    throw new AppError('BAD_USER_INPUT', `cannot listen on 127.0.0.1:${port} (${code}); pick another --port`, 'port');
  });
  const stop = () => void receiver.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

function parseOptions(args: string[], options: OptionSpec): { values: Record<string, string | boolean | undefined> } {
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return { values: values as Record<string, string | boolean | undefined> };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`audithook: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof ConfigError) {
    console.error(`audithook: configuration error: ${error.message}`);
    process.exit(78);
  }
  if (error instanceof AppError) {
    console.error(`audithook: ${error.field ? `--${error.field}: ` : ''}${error.message}`);
    process.exit(1);
  }
  const failure = describeStartupFailure(error);
  if (failure) {
    console.error(`audithook: ${failure.message}`);
    process.exit(failure.exitCode);
  }
  console.error('audithook: unexpected error:', error);
  process.exit(1);
});
