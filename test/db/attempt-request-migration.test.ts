import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver } from '../support/receiver.js';
import { startTestServer, waitFor } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';

const DELIVERIES = `query($org: ID!) { deliveries(organizationId: $org) { edges { node { id attempts { url requestHeaders { name } } } } } }`;
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('Migration20261126094500_attempt_request', () => {
  it("upgrades a database whose attempts predate it: they get the webhook's URL and no headers, and nothing else changes", async () => {
    const root = tempDir('audithook-migration-');
    roots.push(root);
    const receiver = await startReceiver();
    try {
      // A database with an attempt, put back to how the previous version left it.
      let server = await startTestServer({}, { dir: root });
      const orgId = server.orgId;
      const token = server.adminToken;
      await server.gql(`mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`, { org: orgId, input: { url: receiver.url } });
      await waitFor(async () => (await server.gql(DELIVERIES, { org: orgId })).data!.deliveries.edges[0]?.node.attempts.length === 1);
      await server.stop();
      const file = join(root, 'audithook.db');
      const db = new Database(file);
      db.exec(`alter table delivery_attempts drop column url; alter table delivery_attempts drop column request_headers;
        delete from mikro_orm_migrations where name = 'Migration20261126094500_attempt_request';`);
      const before = db.prepare('select id, attempt_number, outcome, status_code from delivery_attempts').all();
      db.close();

      server = await startTestServer({}, { dir: root });
      try {
        const after = await server.gql(DELIVERIES, { org: orgId }, token);
        expect(after.errors).toBeUndefined();
        expect(after.data!.deliveries.edges[0].node.attempts).toEqual([{ url: receiver.url, requestHeaders: [] }]);
        const reopened = new Database(file, { readonly: true });
        expect(reopened.prepare('select id, attempt_number, outcome, status_code from delivery_attempts').all()).toEqual(before);
        reopened.close();
      } finally {
        await server.stop();
      }
    } finally {
      await receiver.close();
    }
  });
});
