import type { Role } from './roles.js';

/** Who is calling: resolved once per request (or WebSocket connection) from the bearer token. */
export interface Principal {
  tokenId: string;
  organizationId: string;
  role: Role;
  label: string | null;
}

/** An operator on the host acting through the CLI (no API token): who `audithook token revoke` records as the actor. */
export interface OperatorPrincipal {
  operator: true;
  organizationId: string;
}

/** The actor recorded for an operator's CLI change: honest about having no token behind it. */
export const OPERATOR_ACTOR = { id: 'cli', type: 'operator' } as const;

/** audithook itself acting on its own (e.g. disabling a failing webhook): no token and no operator behind the change. */
export interface SystemPrincipal {
  system: true;
  organizationId: string;
}

/** The actor recorded for a change audithook made by itself. */
export const SYSTEM_ACTOR = { id: 'audithook', type: 'system', name: 'audithook' } as const;

/** The actor recorded on audit events that audithook writes about its own configuration changes. */
export function principalActor(principal: Principal | OperatorPrincipal | SystemPrincipal): { id: string; type: string; name?: string } {
  if ('operator' in principal) return { ...OPERATOR_ACTOR };
  if ('system' in principal) return { ...SYSTEM_ACTOR };
  return principal.label
    ? { id: principal.tokenId, type: 'api_token', name: principal.label }
    : { id: principal.tokenId, type: 'api_token' };
}
