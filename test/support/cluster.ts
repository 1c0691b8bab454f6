import Database from 'better-sqlite3';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { postGraphql, type ServerProcess } from './server-process.js';
import { collect, waitFor } from './server.js';

/** Helpers for tests over several `audithook serve` processes (api and worker roles) on one database. */

/** GraphQL documents the process tests send. */
export const OPS = {
  record: `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`,
  recordMany: `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`,
  register: `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`,
  attempts: `subscription($org: ID!) { deliveryAttempts(organizationId: $org) { id deliveryId attemptNumber outcome } }`,
  createToken: `mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: ADMIN, label: "ws" }) { token apiToken { id } } }`,
  revoke: `mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`,
};

/** A graphql-ws client of a server process. */
export function wsClientOf(server: ServerProcess, token: string, onClosed?: (event: unknown) => void): Client {
  return createClient({
    url: server.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { authorization: `Bearer ${token}` },
    ...(onClosed ? { on: { closed: onClosed } } : {}),
  });
}

/** One attempt as a deliveryAttempts subscriber sees it. */
export interface SeenAttempt {
  id: string;
  deliveryId: string;
  attemptNumber: number;
  outcome: string;
}

/**
 * Subscribes to deliveryAttempts on `server` and resolves once the subscription demonstrably works:
 * it records warm-up events (through `recordVia`) until the subscriber has seen an attempt. Returns
 * the growing list of attempts seen.
 */
export async function liveAttempts(server: ServerProcess, recordVia: string, token: string, orgId: string): Promise<{ seen: SeenAttempt[]; client: Client }> {
  const client = wsClientOf(server, token);
  const subscription = collect<{ deliveryAttempts: SeenAttempt }>(client, OPS.attempts, { org: orgId }, Number.MAX_SAFE_INTEGER, 600_000);
  subscription.done.catch(() => undefined);
  let warmups = 0;
  await waitFor(
    async () => {
      if (subscription.results.length > 0) return true;
      await postGraphql(recordVia, token, OPS.record, { org: orgId, input: { action: 'warm_up', actor: { id: `warm-up-${++warmups}` } } });
      return false;
    },
    30_000,
    500,
  );
  return {
    get seen() {
      return subscription.results.map((r) => r.deliveryAttempts);
    },
    client,
  };
}

/** Every attempt id a worker process logged ("attempt recorded", at debug level), with the worker's identity. */
export function attemptsLoggedBy(server: ServerProcess): Map<string, string> {
  const byAttempt = new Map<string, string>();
  for (const entry of server.logs) {
    if (entry.msg === 'attempt recorded' && typeof entry.attemptId === 'string') byAttempt.set(entry.attemptId, String(entry.worker));
  }
  return byAttempt;
}

/** Rows of a read-only query on the database of DATABASE_URL (either dialect); write portable SQL, counts come back as numbers. */
export async function queryDatabase(databaseUrl: string, text: string): Promise<Record<string, unknown>[]> {
  const numeric = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) && k === 'n' ? Number(v) : v]));
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new Database(databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return (db.prepare(text).all() as Record<string, unknown>[]).map(numeric);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows.map(numeric);
  } finally {
    await client.end();
  }
}
