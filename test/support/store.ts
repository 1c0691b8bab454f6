import type { App } from '../../src/app.js';
import type { GqlResult, TestServer } from './server.js';

/** Tables whose every row is compared (small, and updated in place by mutations). */
const FULL_TABLES = ['organizations', 'api_tokens', 'webhooks', 'deliveries'] as const;
/** Append-only tables: a count and the greatest key show any insert or delete. */
const COUNTED_TABLES = [
  ['audit_events', 'id'],
  ['pending_events', 'event_id'],
  ['delivery_events', 'delivery_id'],
  ['delivery_attempts', 'id'],
] as const;

/**
 * Everything a GraphQL call could have stored, read from the database through the app's own
 * connection; two equal snapshots mean the call stored nothing. `last_used_at` (refreshed by every
 * authenticated request) is left out.
 */
export async function storeSnapshot(app: App): Promise<string> {
  const connection = app.orm.em.getConnection();
  const parts: Record<string, unknown> = {};
  for (const table of FULL_TABLES) {
    const rows = await connection.execute<Record<string, unknown>[]>(`select * from ${table} order by id`);
    parts[table] = rows.map(({ last_used_at: _lastUsedAt, ...row }) => row);
  }
  for (const [table, key] of COUNTED_TABLES) {
    parts[table] = await connection.execute(`select count(*) as n, max(${key}) as last from ${table}`);
  }
  return JSON.stringify(parts);
}

/** POSTs a request body exactly as given (for values JSON.stringify in the test process cannot make, e.g. 4,400 levels deep). */
export async function postRaw(server: TestServer, body: string, token: string | null = server.adminToken): Promise<GqlResult> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await response.text();
  let parsed: Omit<GqlResult, 'status'>;
  try {
    parsed = JSON.parse(text) as Omit<GqlResult, 'status'>;
  } catch {
    parsed = { errors: [{ message: `non-JSON response: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, ...parsed };
}

/** JSON text of an object nested `depth` levels deep (`{"a":{"a":…1…}}`), built as text so any depth is cheap. */
export function nestedJsonText(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** The same nesting as a GraphQL object literal (`{a: {a: … 1 …}}`). */
export function nestedLiteralText(depth: number): string {
  return '{a: '.repeat(depth) + '1' + '}'.repeat(depth);
}

/** GET /healthz of the server: 200 while the process and its database answer. */
export async function healthStatus(server: TestServer): Promise<number> {
  const response = await fetch(new URL('/healthz', server.url));
  await response.arrayBuffer();
  return response.status;
}
