import type { AuthCheckerFn } from 'type-graphql';
import { AppError } from '../lib/app-error.js';
import type { RequestContext } from '../modules/request-context.js';

/**
 * The single gate of every operation: a valid token (UNAUTHENTICATED), a role allowed by
 * @Authorized (FORBIDDEN), and, for operations with an organizationId argument, the token's own
 * organization (FORBIDDEN) — so no resolver can forget the tenant check.
 */
export const authChecker: AuthCheckerFn<RequestContext> = ({ args, context }, roles) => {
  const principal = context.principal;
  if (!principal) {
    throw new AppError('UNAUTHENTICATED', context.authFailure ?? 'send Authorization: Bearer <API token>');
  }
  if ('organizationId' in args && args.organizationId !== principal.organizationId) {
    throw new AppError('FORBIDDEN', 'the API token does not belong to this organization');
  }
  if (roles.length > 0 && !roles.includes(principal.role)) {
    const needed = roles.join(' or ');
    throw new AppError('FORBIDDEN', `this operation needs ${articleFor(needed)} ${needed} token; this one is ${principal.role}`);
  }
  return true;
};

/** "an" before a vowel (an ADMIN, an INGEST token), else "a". */
function articleFor(word: string): string {
  return /^[AEIOU]/i.test(word) ? 'an' : 'a';
}
