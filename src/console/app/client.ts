import { Client, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { SIGN_IN_SOURCE } from '../api/operations';
import { bearer } from './session';

/** Where GraphQL is served: same origin, HTTP and graphql-ws on one path. */
export const GRAPHQL_PATH = '/graphql';

/** The live connection's state, shown in the header. */
export type SocketState = 'connecting' | 'live' | 'reconnecting' | 'refused';

/** What the console's GraphQL client reports back to the shell. */
export interface ClientCallbacks {
  /** The server no longer accepts the token (revoked, or a wrong one): back to sign-in with its message. */
  onUnauthenticated(message: string): void;
  onSocketState(state: SocketState): void;
  /** A request could not reach the server (the message says why). */
  onNetworkError(message: string): void;
  /** The server answered a request, or the socket connected. */
  onAnswered(): void;
}

/** ws(s)://this-host/graphql, so the page's CSP can allow this host's sockets only. */
export function graphqlWsUrl(): string {
  return `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}${GRAPHQL_PATH}`;
}

/** graphql-ws closes with 4403 when its connection params carry no valid token. */
const FORBIDDEN_CLOSE_CODE = 4403;

/**
 * An urql client for one token: queries and mutations over HTTP with `Authorization: Bearer`, subscriptions over
 * graphql-ws with `{ authorization: "Bearer …" }` as connection params. No cache: every screen asks the server.
 */
export function createConsoleClient(token: string, callbacks: ClientCallbacks): { client: Client; ws: WsClient } {
  const authorization = bearer(token);
  let everConnected = false;
  const ws = createWsClient({
    url: graphqlWsUrl(),
    connectionParams: { authorization },
    lazy: true,
    keepAlive: 15_000,
    retryAttempts: 30,
    shouldRetry: (event) => !(event && typeof event === 'object' && 'code' in event && (event as CloseEvent).code === FORBIDDEN_CLOSE_CODE),
    on: {
      connecting: () => callbacks.onSocketState(everConnected ? 'reconnecting' : 'connecting'),
      connected: () => {
        everConnected = true;
        callbacks.onSocketState('live');
        callbacks.onAnswered();
      },
      closed: (event) => {
        const code = event && typeof event === 'object' && 'code' in event ? (event as CloseEvent).code : 0;
        callbacks.onSocketState(code === FORBIDDEN_CLOSE_CODE ? 'refused' : 'reconnecting');
      },
    },
  });
  const client = new Client({
    url: GRAPHQL_PATH,
    requestPolicy: 'network-only',
    // POST only: Apollo's CSRF prevention refuses GET queries without a preflight header, and variables stay out of URLs.
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization }, credentials: 'omit', referrerPolicy: 'no-referrer' }),
    exchanges: [
      mapExchange({
        onError(error) {
          const unauthenticated = error.graphQLErrors.find((e) => e.extensions?.code === 'UNAUTHENTICATED');
          if (unauthenticated) callbacks.onUnauthenticated(unauthenticated.message);
          if (error.networkError) callbacks.onNetworkError(error.networkError.message);
        },
        onResult(result) {
          if (!result.error?.networkError) callbacks.onAnswered();
          return result;
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, ws };
}

/** Asks `viewer` with a token before keeping it, so a wrong token is refused at the sign-in form. */
export async function checkToken(token: string): Promise<{ ok: true } | { ok: false; message: string }> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer(token) },
      credentials: 'omit',
      body: JSON.stringify({ query: SIGN_IN_SOURCE }),
    });
  } catch (error) {
    return { ok: false, message: `Could not reach the server: ${(error as Error).message}` };
  }
  const body = (await response.json().catch(() => null)) as { data?: { viewer?: unknown }; errors?: { message: string; extensions?: { code?: string } }[] } | null;
  if (body?.data?.viewer) return { ok: true };
  const error = body?.errors?.[0];
  if (error?.extensions?.code === 'UNAUTHENTICATED') return { ok: false, message: `That token was not accepted: ${error.message}` };
  return { ok: false, message: error ? error.message : `The server answered ${response.status}` };
}
