import { AppError } from '../lib/app-error.js';
import type { Principal } from './auth.js';
import type { Loaders } from './loaders.js';
import type { Services } from './services.js';

/** What every resolver gets: the caller (if authenticated) and the services. */
export interface RequestContext {
  principal: Principal | null;
  /** Why authentication failed, for the UNAUTHENTICATED message; null when no token was sent. */
  authFailure: string | null;
  services: Services;
  /** Batched loading of related rows, new for each operation. */
  loaders: Loaders;
  /** Present only on WebSocket operations: admits long-lived subscriptions under the connection's and token's caps. */
  subscriptions?: SubscriptionAdmission;
}

/** Admission of one more live subscription; implemented by the WebSocket layer, used by subscription resolvers. */
export interface SubscriptionAdmission {
  /** Takes a slot or throws AppError TOO_MANY_SUBSCRIPTIONS; the returned function gives the slot back (idempotent). */
  admit(): () => void;
}

/** Runs `open` under a subscription slot that is released when the returned iterator ends, however it ends. */
export function admitSubscription<T>(context: RequestContext, open: (release: () => void) => AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  if (!context.subscriptions) throw new AppError('BAD_USER_INPUT', 'subscriptions are served over WebSocket (graphql-ws) only');
  const release = context.subscriptions.admit();
  try {
    return open(release);
  } catch (error) {
    release();
    throw error;
  }
}

/** The caller, after the auth checker has run; resolvers use it instead of a non-null assertion. */
export function principalOf(context: RequestContext): Principal {
  if (!context.principal) throw new AppError('UNAUTHENTICATED', 'send Authorization: Bearer <API token>');
  return context.principal;
}
