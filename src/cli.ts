#!/usr/bin/env node
import './node-version-guard.js'; // first: refuses an older Node before anything loads native code
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/orm.js';
import { AppError } from './lib/app-error.js';
import { createLogger } from './lib/logger.js';
import { describeStartupFailure } from './lib/startup-failure.js';
import { Role } from './modules/roles.js';
import { createServices } from './modules/services.js';

const USAGE = `usage: audithook <command>

commands:
  serve                                   run the GraphQL server (default)
  migrate                                 apply pending database migrations
  reencrypt                               re-encrypt every stored secret under AUDITHOOK_SECRET_KEY
                                          (after a key rotation; old key in AUDITHOOK_SECRET_KEY_PREVIOUS)
  org create --name <name> [--json]       create an organization and its first ADMIN token
  token create --org <id> --role ADMIN|INGEST [--label <text>] [--json]
                                          create an API token for an organization

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
  logger.info({ url: app.url }, `audithook listening on ${app.url}`);
  if (config.allowHttp) logger.warn('AUDITHOOK_ALLOW_HTTP is on: webhooks may use plain http://, so audit events can cross the network unencrypted');
  if (config.allowPrivateDestinations) {
    logger.warn('AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS is on: webhooks may reach loopback and private addresses (development only)');
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', sub, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'serve':
      if (sub !== undefined) throw new UsageError(`serve takes no arguments, got "${sub}"`);
      return serve(config);
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
      if (sub !== 'create') throw new UsageError(`unknown org command "${sub ?? ''}"; expected: org create --name <name>`);
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
      if (sub !== 'create') throw new UsageError(`unknown token command "${sub ?? ''}"; expected: token create --org <id> --role ADMIN|INGEST`);
      const { values } = parseOptions(rest, { org: { type: 'string' }, role: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' } });
      if (typeof values.org !== 'string' || values.org === '') throw new UsageError('token create needs --org <organization id>');
      const role = values.role;
      if (role !== Role.ADMIN && role !== Role.INGEST) throw new UsageError('token create needs --role ADMIN or --role INGEST');
      const org = values.org;
      const label = typeof values.label === 'string' ? values.label : null;
      const created = await withServices(config, (s) => s.organizations.createToken(org, role, label));
      const output = { apiToken: { id: created.tokenId, organizationId: org, role, label }, token: created.token };
      if (values.json) console.log(JSON.stringify(output));
      else console.log(`${role} token ${created.tokenId} for ${org} (shown once): ${created.token}`);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
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
