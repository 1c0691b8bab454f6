import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { AppError, badInput } from '../../lib/app-error.js';
import { isId } from '../../lib/ids.js';
import type { AuditEventService } from '../audit-events/audit-event.service.js';
import type { OperatorPrincipal, Principal } from '../auth.js';
import { ApiToken, Role } from './api-token.entity.js';

const TOKEN_PREFIX = 'ah_';
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * How long a successful authentication is reused without reading the token row again. A revocation
 * in this process drops it at once; one made by another process on the same database bites within
 * this (well inside the promised second).
 */
export const AUTHENTICATION_CACHE_MS = 500;
/** Most tokens remembered; past this the oldest entry goes. */
const AUTHENTICATION_CACHE_SIZE = 10_000;

/** SHA-256 hex: tokens are 256-bit random, so a fast hash is enough and lookups stay O(1). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The result of authenticating a bearer token: a principal, or why not (for a clear UNAUTHENTICATED message). */
export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

/** Told the id of each token revoked in this process, once its revocation is committed. */
export type RevocationListener = (tokenId: string) => void;

/** Issues, authenticates, lists and revokes API tokens. */
export class ApiTokenService {
  private readonly revocationListeners = new Set<RevocationListener>();
  /** Recent successful authentications by token hash: the hot path (every ingest call) reads no row for them. */
  private readonly recent = new Map<string, { principal: Principal; expiresAtMs: number }>();

  constructor(
    private readonly orm: MikroORM,
    private readonly auditEvents: AuditEventService,
  ) {}

  /** Creates a token inside the caller's transaction; the secret is returned once and only its hash is stored. */
  async createInTransaction(
    em: EntityManager,
    organizationId: string,
    role: Role,
    label: string | null,
  ): Promise<{ token: string; apiToken: ApiToken }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const apiToken = em.create(ApiToken, { organization: organizationId, tokenHash: hashToken(token), role, label });
    em.persist(apiToken);
    await em.flush();
    return { token, apiToken };
  }

  /** The createApiToken mutation: validates the label and records `api_token_created`. */
  async create(principal: Principal, input: { role: Role; label?: string | null }): Promise<{ token: string; apiToken: ApiToken }> {
    const label = normaliseLabel(input.label, 'input.label');
    if (!Object.values(Role).includes(input.role)) throw badInput('input.role', 'role must be ADMIN or INGEST');
    return this.orm.em.fork().transactional(async (em) => {
      const created = await this.createInTransaction(em, principal.organizationId, input.role, label);
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'api_token_created',
        context: [{ id: created.apiToken.id, type: 'api_token', ...(label ? { name: label } : {}), attributes: { role: input.role } }],
        message: `API token ${created.apiToken.id} (${input.role}) created`,
      });
      return created;
    });
  }

  /** Resolves a bearer token to its principal; revoked and unknown tokens are refused alike. */
  async authenticate(token: string): Promise<Authentication> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return { ok: false, reason: 'the API token is not valid' };
    const tokenHash = hashToken(token);
    const cached = this.recent.get(tokenHash);
    if (cached && cached.expiresAtMs > Date.now()) return { ok: true, principal: cached.principal };
    const em = this.orm.em.fork();
    const apiToken = await em.findOne(ApiToken, { tokenHash });
    if (!apiToken) return { ok: false, reason: 'the API token is not valid' };
    if (apiToken.revokedAt) return { ok: false, reason: 'the API token has been revoked' };
    const now = new Date();
    if (!apiToken.lastUsedAt || now.getTime() - apiToken.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Coarse-grained on purpose: one write per token per minute, not one per request.
      await em.nativeUpdate(ApiToken, { id: apiToken.id }, { lastUsedAt: now });
    }
    const principal = principalOfToken(apiToken);
    this.recent.delete(tokenHash);
    if (this.recent.size >= AUTHENTICATION_CACHE_SIZE) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(tokenHash, { principal, expiresAtMs: now.getTime() + AUTHENTICATION_CACHE_MS });
    return { ok: true, principal };
  }

  /** Re-checks a token already authenticated (a WebSocket's, on each operation): same answer as `authenticate`, no secret needed. */
  async authenticateId(tokenId: string): Promise<Authentication> {
    const apiToken = await this.orm.em.fork().findOne(ApiToken, { id: tokenId });
    if (!apiToken) return { ok: false, reason: 'the API token is not valid' };
    if (apiToken.revokedAt) return { ok: false, reason: 'the API token has been revoked' };
    return { ok: true, principal: principalOfToken(apiToken) };
  }

  /** Which of these token ids are no longer usable (revoked or gone), in one query: how open sockets learn of revocations made by any process. */
  async unusableAmong(tokenIds: readonly string[]): Promise<Set<string>> {
    if (tokenIds.length === 0) return new Set();
    const live = await this.orm.em
      .fork()
      .find(ApiToken, { id: { $in: [...tokenIds] }, revokedAt: null }, { fields: ['id'] });
    const liveIds = new Set(live.map((t) => t.id));
    return new Set(tokenIds.filter((id) => !liveIds.has(id)));
  }

  /** Subscribes to revocations committed in this process (so its sockets close at once); returns the unsubscribe. */
  onRevoked(listener: RevocationListener): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  /** Live (unrevoked) tokens of the organization, newest first. */
  async list(organizationId: string): Promise<ApiToken[]> {
    return this.orm.em.fork().find(ApiToken, { organization: organizationId, revokedAt: null }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** `audithook token revoke`: the same revocation (and `api_token_revoked` event), by the host's operator. */
  async revokeAsOperator(organizationId: string, id: string): Promise<boolean> {
    return this.revoke({ operator: true, organizationId }, id);
  }

  /** Revokes a token of the caller's organization; false when it was already revoked, NOT_FOUND when it does not exist. */
  async revoke(principal: Principal | OperatorPrincipal, id: string): Promise<boolean> {
    if (!isId('tok', id)) throw new AppError('NOT_FOUND', 'no API token with this id in this organization', 'id');
    const revoked = await this.orm.em.fork().transactional(async (em) => {
      const apiToken = await em.findOne(ApiToken, { id, organization: principal.organizationId });
      if (!apiToken) throw new AppError('NOT_FOUND', `no API token ${id} in this organization`, 'id');
      if (apiToken.revokedAt) return false;
      apiToken.revokedAt = new Date();
      await em.flush();
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'api_token_revoked',
        context: [{ id: apiToken.id, type: 'api_token', ...(apiToken.label ? { name: apiToken.label } : {}) }],
        message: `API token ${apiToken.id} revoked`,
      });
      return true;
    });
    if (revoked) {
      for (const [hash, entry] of this.recent) if (entry.principal.tokenId === id) this.recent.delete(hash);
      for (const listener of this.revocationListeners) listener(id);
    }
    return revoked;
  }
}

function principalOfToken(apiToken: ApiToken): Principal {
  return { tokenId: apiToken.id, organizationId: apiToken.organization, role: apiToken.role, label: apiToken.label };
}

/** Labels are optional free text for people; bounded so they cannot bloat lists. */
export function normaliseLabel(label: string | null | undefined, field: string): string | null {
  if (label === undefined || label === null) return null;
  const trimmed = label.trim();
  if (trimmed.length === 0) return null;
  if (trimmed.length > 200) throw badInput(field, 'label must be at most 200 characters');
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw badInput(field, 'label must not contain control characters');
  return trimmed;
}
