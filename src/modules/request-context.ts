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
}

/** The caller, after the auth checker has run; resolvers use it instead of a non-null assertion. */
export function principalOf(context: RequestContext): Principal {
  if (!context.principal) throw new AppError('UNAUTHENTICATED', 'send Authorization: Bearer <API token>');
  return context.principal;
}
