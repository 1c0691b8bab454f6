import { AppError } from '../lib/app-error.js';
import type { Logger } from '../lib/logger.js';
import type { ApiTokenService } from '../modules/api-tokens/api-token.service.js';
import type { Principal } from '../modules/auth.js';
import type { SubscriptionAdmission } from '../modules/request-context.js';

/** graphql-ws's close code for a refused or withdrawn credential; its client may retry, and is refused again. */
export const CLOSE_FORBIDDEN = 4403;
/** Normal closure: graphql-ws clients with live subscriptions reconnect (and so authenticate again). */
export const CLOSE_LIFETIME_REACHED = 1000;

/** The bounds a WebSocket connection lives under. */
export interface WsSessionLimits {
  /** A connection is closed after this long, so a credential is re-presented at least this often. */
  maxLifetimeMs: number;
  /** Live subscriptions on one connection. */
  maxSubscriptionsPerConnection: number;
  /** Live subscriptions of one token, over all its connections to this process. */
  maxSubscriptionsPerToken: number;
  /** How often the tokens of open connections are re-read, so a revocation made by any process closes them. */
  recheckIntervalMs: number;
}

/** Defaults stated in SECURITY.md; the lifetime comes from AUDITHOOK_WS_MAX_LIFETIME. */
export const DEFAULT_WS_LIMITS: Omit<WsSessionLimits, 'maxLifetimeMs'> = {
  maxSubscriptionsPerConnection: 20,
  maxSubscriptionsPerToken: 100,
  recheckIntervalMs: 500,
};

/** One authenticated graphql-ws connection: its principal, its live subscriptions, and how to close it. */
export class WsSession implements SubscriptionAdmission {
  activeSubscriptions = 0;
  private closed = false;
  private readonly lifetimeTimer: NodeJS.Timeout;

  constructor(
    private readonly registry: WsSessions,
    /** Refreshed on every operation, so a role or label change is seen without reconnecting. */
    public principal: Principal,
    private readonly closeSocket: (code: number, reason: string) => void,
    maxLifetimeMs: number,
  ) {
    this.lifetimeTimer = setTimeout(() => this.close(CLOSE_LIFETIME_REACHED, 'connection lifetime reached; reconnect'), maxLifetimeMs);
    this.lifetimeTimer.unref();
  }

  /** Token of this connection. */
  get tokenId(): string {
    return this.principal.tokenId;
  }

  /** Re-reads the token before an operation runs: a revoked token closes the connection instead of running it. */
  async recheck(): Promise<{ ok: true } | { ok: false; reason: string }> {
    const result = await this.registry.apiTokens.authenticateId(this.tokenId);
    if (!result.ok) {
      this.close(CLOSE_FORBIDDEN, result.reason);
      return { ok: false, reason: result.reason };
    }
    this.principal = result.principal;
    return { ok: true };
  }

  admit(): () => void {
    // A subscribe message that ws delivers after the socket closed would otherwise start a listener nobody ends.
    if (this.closed) throw new AppError('CONFLICT', 'the connection is closing; subscribe on a new one');
    const limits = this.registry.limits;
    if (this.activeSubscriptions >= limits.maxSubscriptionsPerConnection) {
      throw new AppError('TOO_MANY_SUBSCRIPTIONS', `at most ${limits.maxSubscriptionsPerConnection} live subscriptions per connection`);
    }
    if (this.registry.subscriptionsOfToken(this.tokenId) >= limits.maxSubscriptionsPerToken) {
      throw new AppError('TOO_MANY_SUBSCRIPTIONS', `at most ${limits.maxSubscriptionsPerToken} live subscriptions per API token`);
    }
    this.activeSubscriptions += 1;
    this.registry.countSubscription(this.tokenId, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.activeSubscriptions -= 1;
      this.registry.countSubscription(this.tokenId, -1);
    };
  }

  /** Closes the socket (idempotent); graphql-ws then ends its subscriptions, which release their slots. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.lifetimeTimer);
    this.closeSocket(code, reason);
  }

  /** Called when the socket has closed, whoever closed it. */
  disposed(): void {
    this.closed = true;
    clearTimeout(this.lifetimeTimer);
  }
}

/**
 * Every open graphql-ws connection of this process, by token: closes a token's sockets as soon as
 * this process revokes it, and within `recheckIntervalMs` when another process does.
 */
export class WsSessions {
  private readonly byToken = new Map<string, Set<WsSession>>();
  private readonly subscriptionsByToken = new Map<string, number>();
  private readonly stopListening: () => void;
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    readonly apiTokens: ApiTokenService,
    readonly limits: WsSessionLimits,
    private readonly logger: Logger,
  ) {
    this.stopListening = apiTokens.onRevoked((tokenId) => this.closeToken(tokenId, 'the API token has been revoked'));
    this.sweepTimer = setInterval(() => void this.sweep(), limits.recheckIntervalMs);
    this.sweepTimer.unref();
  }

  /** Registers a connection that has just authenticated. */
  open(principal: Principal, closeSocket: (code: number, reason: string) => void): WsSession {
    const session = new WsSession(this, principal, closeSocket, this.limits.maxLifetimeMs);
    let set = this.byToken.get(principal.tokenId);
    if (!set) this.byToken.set(principal.tokenId, (set = new Set()));
    set.add(session);
    return session;
  }

  /** Forgets a closed connection. */
  remove(session: WsSession): void {
    session.disposed();
    const set = this.byToken.get(session.tokenId);
    set?.delete(session);
    if (set && set.size === 0) this.byToken.delete(session.tokenId);
  }

  /** Open connections (for tests and metrics). */
  get size(): number {
    let total = 0;
    for (const set of this.byToken.values()) total += set.size;
    return total;
  }

  /** Live subscriptions of a token in this process. */
  subscriptionsOfToken(tokenId: string): number {
    return this.subscriptionsByToken.get(tokenId) ?? 0;
  }

  /** Bookkeeping for WsSession.admit and its release. */
  countSubscription(tokenId: string, delta: number): void {
    const next = (this.subscriptionsByToken.get(tokenId) ?? 0) + delta;
    if (next <= 0) this.subscriptionsByToken.delete(tokenId);
    else this.subscriptionsByToken.set(tokenId, next);
  }

  /** Closes every connection opened with the token, with 4403. */
  closeToken(tokenId: string, reason: string): void {
    const set = this.byToken.get(tokenId);
    if (!set) return;
    for (const session of [...set]) session.close(CLOSE_FORBIDDEN, reason);
  }

  /** Stops the revocation listener and the periodic re-check. */
  dispose(): void {
    this.stopListening();
    clearInterval(this.sweepTimer);
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.byToken.size === 0) return;
    this.sweeping = true;
    try {
      const unusable = await this.apiTokens.unusableAmong([...this.byToken.keys()]);
      for (const tokenId of unusable) this.closeToken(tokenId, 'the API token has been revoked');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not re-check the tokens of open WebSocket connections');
    } finally {
      this.sweeping = false;
    }
  }
}
