// Creates `count` organizations in one process, as `audithook org create` does one at a time (40
// Node start-ups would dominate a smoke run). Runs before the server starts, on the same database
// file and environment. Prints one JSON line: [{ id, token }] (ADMIN tokens; the runner keeps them
// in memory and hands them to the hanging-tenants process over IPC, never on a command line).
// Params (argv[2], JSON): { count, namePrefix }.
import 'reflect-metadata';
import { loadConfig } from '../../dist/src/config.js';
import { openDatabase } from '../../dist/src/db/orm.js';
import { createServices } from '../../dist/src/modules/services.js';

const { count, namePrefix } = JSON.parse(process.argv[2]);
const config = loadConfig(process.env, process.cwd());
const orm = await openDatabase(config.database);
const organizations = [];
try {
  const services = createServices(orm, config);
  for (let i = 0; i < count; i++) {
    const created = await services.organizations.create(`${namePrefix} ${i}`);
    organizations.push({ id: created.organization.id, token: created.token });
  }
} finally {
  await orm.close(true);
}
process.stdout.write(JSON.stringify(organizations) + '\n');
