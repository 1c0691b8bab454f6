// Subscribing in tests without guessing how long the server needs: graphql-ws has no per-subscription
// acknowledgement, so we wait until the server's attempt feed has the new subscriber registered.
import type { Client } from 'graphql-ws';
import { collect, waitFor, type TestServer } from './server.js';

/** Options of subscribeLive. */
export interface SubscribeLiveOptions {
  /** Organization whose feed the subscription listens to; default `variables.org`, else the server's own. */
  organizationId?: string;
  /** How long collecting `count` results may take (as in `collect`). */
  timeoutMs?: number;
  /** How long the server may take to register the subscription. */
  registerTimeoutMs?: number;
}

/**
 * Starts `collect` on a deliveryAttempts subscription and resolves once the server has registered it
 * (its feed counts one more listener for the organization), so anything published afterwards reaches it.
 * Resolves early if the subscription already ended (e.g. FORBIDDEN): the caller sees that in `done`.
 */
export async function subscribeLive<T>(
  server: TestServer,
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  count: number,
  options: SubscribeLiveOptions = {},
): Promise<ReturnType<typeof collect<T>>> {
  const organizationId = options.organizationId ?? (typeof variables['org'] === 'string' ? variables['org'] : server.orgId);
  const feed = server.app.services.deliveries.feed;
  const before = feed.listenerCount(organizationId);
  const subscription = collect<T>(client, query, variables, count, options.timeoutMs);
  let ended = false;
  subscription.done.then(
    () => (ended = true),
    () => (ended = true),
  );
  await waitFor(() => ended || feed.listenerCount(organizationId) > before, options.registerTimeoutMs ?? 10_000, 10);
  return subscription;
}
