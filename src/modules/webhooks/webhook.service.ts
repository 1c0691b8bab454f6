import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { checkDestinationUrl } from '../../delivery/destination.js';
import { generateSigningSecret } from '../../delivery/signing.js';
import { AppError } from '../../lib/app-error.js';
import { redactUrl } from '../../lib/redact-url.js';
import { describeOpenFailure, type SecretBox } from '../../lib/secret-box.js';
import type { AuditEventService } from '../audit-events/audit-event.service.js';
import type { Principal } from '../auth.js';
import { parseAuthorizationInput, type AuthorizationInputData } from './webhook-authorization.js';
import { Webhook, WebhookStatus } from './webhook.entity.js';

/** How long a rotated-out signing secret keeps signing, so receivers can roll over without dropping requests. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

/** The URL rules that depend on configuration (and a resolver tests may replace). */
export interface DestinationPolicy {
  allowHttp: boolean;
  allowPrivateDestinations: boolean;
  resolveHost?: (hostname: string) => Promise<string[]>;
}

/** What a delivery attempt needs of a webhook, decrypted only for the request. */
export interface WebhookSendSettings {
  id: string;
  organizationId: string;
  url: string;
  authorization: string | null;
  signingSecrets: string[];
}

/** sendSettings as a value: a secret this process cannot decrypt (wrong or missing key) fails the attempt, not the job. */
export type SendSettingsResult =
  | { ok: true; settings: WebhookSendSettings }
  | { ok: false; error: 'SECRET_UNREADABLE'; detail: string };

/** What `audithook reencrypt` did: values rewritten under the current key and values already under it, or why nothing was. */
export type ResealReport = { ok: true; rewritten: number; alreadyCurrent: number } | { ok: false; message: string };

/** The sealed columns of a webhook row and the purpose each is bound to (its associated data). */
const SEALED_COLUMNS = [
  { column: 'signingSecretSealed', purpose: 'signing' },
  { column: 'previousSigningSecretSealed', purpose: 'previous-signing' },
  { column: 'authorizationSealed', purpose: 'authorization' },
] as const;

/** A delivery cancelled with its webhook: which, and its kind (for the finished-deliveries count). */
export interface CancelledDelivery {
  id: string;
  kind: string;
}

/** What removing a webhook needs from the delivery side, implemented there (so this module never imports it). */
export interface DeliveryCancellation {
  /** Cancels the webhook's unfinished deliveries and drops its outbox, inside the removal's transaction; returns the cancelled ids. */
  cancelInTransaction(em: EntityManager, webhookId: string, at: Date): Promise<CancelledDelivery[]>;
  /** After commit: lets the job layer drop the cancelled deliveries' jobs. */
  afterCancelled(cancelled: CancelledDelivery[]): Promise<void>;
}

/** Registers, edits and removes the organization's one webhook, and keeps its secrets sealed. */
export class WebhookService {
  constructor(
    private readonly orm: MikroORM,
    private readonly secrets: SecretBox,
    private readonly auditEvents: AuditEventService,
    private readonly policy: DestinationPolicy,
    /** Wired in after construction (the deliveries module depends on this one, not the reverse). */
    private readonly cancellation: () => DeliveryCancellation,
  ) {}

  /** The live registration, or null. */
  async get(organizationId: string, em: EntityManager = this.orm.em.fork()): Promise<Webhook | null> {
    return em.findOne(Webhook, { activeOrganization: organizationId });
  }

  /** The registered webhooks of organizations, by organization id, in one query (for the per-operation loader). */
  async getManyByOrganization(organizationIds: readonly string[]): Promise<Map<string, Webhook>> {
    const rows = await this.orm.em.fork().find(Webhook, { activeOrganization: { $in: [...new Set(organizationIds)] } });
    return new Map(rows.map((webhook) => [webhook.activeOrganization!, webhook]));
  }

  /** A webhook by id, removed or not (deliveries keep pointing at removed ones). */
  async getById(id: string): Promise<Webhook | null> {
    return this.orm.em.fork().findOne(Webhook, { id });
  }

  /** registerWebhook: one per organization, enforced by the unique activeOrganization column. */
  async register(principal: Principal, input: { url: string; authorization?: AuthorizationInputData | null }): Promise<Webhook> {
    const url = await this.checkUrl(input.url, 'input.url');
    const authorization = input.authorization ? parseAuthorizationInput(input.authorization, 'input.authorization') : null;
    const organizationId = principal.organizationId;
    return this.orm.em.fork().transactional(async (em) => {
      if (await this.get(organizationId, em)) {
        throw new AppError('WEBHOOK_ALREADY_REGISTERED', 'this organization already has a webhook; update or remove it first');
      }
      const webhook = em.create(Webhook, { organization: organizationId, activeOrganization: organizationId, url, signingSecretSealed: '' });
      webhook.signingSecretSealed = this.secrets.seal(generateSigningSecret(), sealContext(webhook.id, 'signing'));
      if (authorization) {
        webhook.authorizationSealed = this.secrets.seal(authorization.headerValue, sealContext(webhook.id, 'authorization'));
        webhook.authorizationScheme = authorization.scheme;
        webhook.authorizationUsername = authorization.username;
      }
      try {
        await em.flush();
      } catch (error) {
        if ((error as { name?: string }).name === 'UniqueConstraintViolationException') {
          throw new AppError('WEBHOOK_ALREADY_REGISTERED', 'this organization already has a webhook; update or remove it first');
        }
        throw error;
      }
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'audit_log_webhook_registered',
        context: [webhookObject(webhook)],
        message: `Audit-log webhook ${webhook.id} registered for ${redactUrl(url)}`,
      });
      return webhook;
    });
  }

  /** updateWebhook: new URL and/or authorization; pending deliveries use them from their next attempt. */
  async update(
    principal: Principal,
    input: { url?: string | null; authorization?: AuthorizationInputData | null; removeAuthorization?: boolean | null },
  ): Promise<Webhook> {
    if (input.authorization && input.removeAuthorization) {
      throw new AppError('BAD_USER_INPUT', 'give either authorization or removeAuthorization, not both', 'input.removeAuthorization');
    }
    const url = input.url === undefined || input.url === null ? null : await this.checkUrl(input.url, 'input.url');
    const authorization = input.authorization ? parseAuthorizationInput(input.authorization, 'input.authorization') : null;
    return this.orm.em.fork().transactional(async (em) => {
      const webhook = await this.get(principal.organizationId, em);
      if (!webhook) throw new AppError('NOT_FOUND', 'this organization has no webhook registered');
      const changed: string[] = [];
      if (url !== null && url !== webhook.url) {
        webhook.url = url;
        changed.push('url');
      }
      if (authorization) {
        webhook.authorizationSealed = this.secrets.seal(authorization.headerValue, sealContext(webhook.id, 'authorization'));
        webhook.authorizationScheme = authorization.scheme;
        webhook.authorizationUsername = authorization.username;
        changed.push('authorization');
      } else if (input.removeAuthorization && webhook.authorizationSealed) {
        webhook.authorizationSealed = null;
        webhook.authorizationScheme = null;
        webhook.authorizationUsername = null;
        changed.push('authorization');
      }
      if (webhook.status === WebhookStatus.DISABLED) {
        webhook.status = WebhookStatus.ACTIVE;
        changed.push('status');
      }
      webhook.updatedAt = new Date();
      await em.flush();
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'audit_log_webhook_updated',
        context: [{ ...webhookObject(webhook), attributes: { changed } }],
        message: `Audit-log webhook ${webhook.id} updated${changed.length ? ` (${changed.join(', ')})` : ''}`,
      });
      return webhook;
    });
  }

  /** removeWebhook: the registration ends, unfinished deliveries are CANCELLED and its outbox is dropped. */
  async remove(principal: Principal): Promise<boolean> {
    const result = await this.orm.em.fork().transactional(async (em) => {
      const webhook = await this.get(principal.organizationId, em);
      if (!webhook) return null;
      const now = new Date();
      webhook.activeOrganization = null;
      webhook.removedAt = now;
      webhook.updatedAt = now;
      const cancelled = await this.cancellation().cancelInTransaction(em, webhook.id, now);
      await em.flush();
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'audit_log_webhook_removed',
        context: [webhookObject(webhook)],
        message: `Audit-log webhook ${webhook.id} removed`,
      });
      return { cancelled };
    });
    if (!result) return false;
    await this.cancellation().afterCancelled(result.cancelled);
    return true;
  }

  /** rotateWebhookSigningSecret: the new secret signs at once, the old one alongside it for 24 hours. */
  async rotateSigningSecret(principal: Principal): Promise<string> {
    return this.orm.em.fork().transactional(async (em) => {
      const webhook = await this.get(principal.organizationId, em);
      if (!webhook) throw new AppError('NOT_FOUND', 'this organization has no webhook registered');
      const previous = this.secrets.open(webhook.signingSecretSealed, sealContext(webhook.id, 'signing'));
      const next = generateSigningSecret();
      webhook.previousSigningSecretSealed = this.secrets.seal(previous, sealContext(webhook.id, 'previous-signing'));
      webhook.previousSigningSecretExpiresAt = new Date(Date.now() + PREVIOUS_SECRET_GRACE_MS);
      webhook.signingSecretSealed = this.secrets.seal(next, sealContext(webhook.id, 'signing'));
      webhook.updatedAt = new Date();
      await em.flush();
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'audit_log_webhook_secret_rotated',
        context: [webhookObject(webhook)],
        message: `Signing secret of audit-log webhook ${webhook.id} rotated; the previous one signs until ${webhook.previousSigningSecretExpiresAt.toISOString()}`,
      });
      return next;
    });
  }

  /** webhookSigningSecret: the current secret, for admins configuring their receiver. */
  async signingSecret(organizationId: string): Promise<string> {
    const webhook = await this.get(organizationId);
    if (!webhook) throw new AppError('NOT_FOUND', 'this organization has no webhook registered');
    return this.secrets.open(webhook.signingSecretSealed, sealContext(webhook.id, 'signing'));
  }

  /** Decrypts what one attempt needs; a value it cannot decrypt is reported (which column, why), never thrown. */
  sendSettings(webhook: Webhook, now: Date = new Date()): SendSettingsResult {
    const open = (sealed: string, purpose: string): string | { detail: string } => {
      const result = this.secrets.tryOpen(sealed, sealContext(webhook.id, purpose));
      return result.ok ? result.plaintext : { detail: `${purpose}: ${describeOpenFailure(result)}` };
    };
    const sealed: { purpose: string; value: string }[] = [{ purpose: 'signing', value: webhook.signingSecretSealed }];
    if (webhook.previousSigningSecretSealed && webhook.previousSigningSecretExpiresAt && webhook.previousSigningSecretExpiresAt > now) {
      sealed.push({ purpose: 'previous-signing', value: webhook.previousSigningSecretSealed });
    }
    if (webhook.authorizationSealed) sealed.push({ purpose: 'authorization', value: webhook.authorizationSealed });
    const opened = new Map<string, string>();
    for (const { purpose, value } of sealed) {
      const plaintext = open(value, purpose);
      if (typeof plaintext !== 'string') return { ok: false, error: 'SECRET_UNREADABLE', detail: plaintext.detail };
      opened.set(purpose, plaintext);
    }
    return {
      ok: true,
      settings: {
        id: webhook.id,
        organizationId: webhook.organization,
        url: webhook.url,
        authorization: opened.get('authorization') ?? null,
        signingSecrets: ['signing', 'previous-signing'].flatMap((purpose) => (opened.has(purpose) ? [opened.get(purpose)!] : [])),
      },
    };
  }

  /**
   * `audithook reencrypt`: every sealed value of every webhook (removed ones too) not yet under the
   * current key is decrypted (current or previous key) and sealed again with the current key, in one
   * transaction; one it cannot decrypt aborts the whole run. Idempotent: a second run rewrites nothing.
   * Each row is updated only if the value is still the one read, so a concurrent change is not overwritten.
   */
  async resealAll(): Promise<ResealReport> {
    let unreadable: string | null = null;
    try {
      return await this.resealAllInTransaction((message) => (unreadable = message));
    } catch (error) {
      if (unreadable !== null) return { ok: false, message: unreadable };
      throw error;
    }
  }

  private async resealAllInTransaction(onUnreadable: (message: string) => void): Promise<ResealReport> {
    return this.orm.em.fork().transactional(async (em) => {
      const report = { ok: true as const, rewritten: 0, alreadyCurrent: 0 };
      const webhooks = await em.find(Webhook, {}, { orderBy: { id: 'asc' } });
      for (const webhook of webhooks) {
        for (const { column, purpose } of SEALED_COLUMNS) {
          const sealed = webhook[column];
          if (!sealed) continue;
          if (this.secrets.isCurrent(sealed)) {
            report.alreadyCurrent++;
            continue;
          }
          const opened = this.secrets.tryOpen(sealed, sealContext(webhook.id, purpose));
          if (!opened.ok) {
            const message = `cannot decrypt the ${purpose} secret of webhook ${webhook.id}: ${describeOpenFailure(opened)}; nothing was changed`;
            onUnreadable(message);
            throw new Error(message); // rolls the transaction back
          }
          const resealed = this.secrets.seal(opened.plaintext, sealContext(webhook.id, purpose));
          report.rewritten += await em.nativeUpdate(Webhook, { id: webhook.id, [column]: sealed }, { [column]: resealed });
        }
      }
      return report;
    });
  }

  private async checkUrl(rawUrl: string, field: string): Promise<string> {
    const check = await checkDestinationUrl(rawUrl, this.policy);
    if (!check.ok) throw new AppError(check.code, `${field.split('.').at(-1)}: ${check.message}`, field);
    return check.url.toString();
  }
}

function sealContext(webhookId: string, purpose: string): string {
  return `webhook:${webhookId}:${purpose}`;
}

/** The webhook as an audit-event context object; its name is the URL with query values redacted (they often carry tokens). */
function webhookObject(webhook: Webhook): { id: string; type: string; name: string } {
  return { id: webhook.id, type: 'webhook', name: redactUrl(webhook.url) };
}
