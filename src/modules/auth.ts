import type { Role } from './roles.js';

/** Who is calling: resolved once per request (or WebSocket connection) from the bearer token. */
export interface Principal {
  tokenId: string;
  organizationId: string;
  role: Role;
  label: string | null;
}

/** The actor recorded on audit events that audithook writes about its own configuration changes. */
export function principalActor(principal: Principal): { id: string; type: string; name?: string } {
  return principal.label
    ? { id: principal.tokenId, type: 'api_token', name: principal.label }
    : { id: principal.tokenId, type: 'api_token' };
}
