import DataLoader from 'dataloader';
import type { AuditEvent } from './audit-events/audit-event.entity.js';
import type { Delivery, DeliveryAttempt } from './deliveries/delivery.entity.js';
import type { Services } from './services.js';
import type { Webhook } from './webhooks/webhook.entity.js';

/** A row asked for by id within its organization: every loader query is scoped by organization. */
export interface ScopedId {
  organizationId: string;
  id: string;
}

/**
 * Batches the per-row field resolvers of one operation into one query per field (per level), so a
 * page of 500 deliveries with their attempts and events costs a constant number of queries.
 */
export interface Loaders {
  /** DeliveryAttempt.delivery. */
  delivery: DataLoader<ScopedId, Delivery | null>;
  /** Delivery.attempts, newest first. */
  attempts: DataLoader<Delivery, DeliveryAttempt[]>;
  /** Delivery.nextAttemptAt, from each delivery's history. */
  nextAttemptAt: DataLoader<Delivery, Date | null>;
  /** Delivery.events, in batch order. */
  events: DataLoader<Delivery, AuditEvent[]>;
  /** Organization.webhook, keyed by organization id. */
  webhook: DataLoader<string, Webhook | null>;
}

/**
 * Batching only, no cache: a subscription's context lives as long as the subscription, and a cached
 * delivery would go stale between its attempts. Each batch de-duplicates its keys itself.
 * The batch size stays well under SQLite's 32766 bound parameters.
 */
const OPTIONS = { cache: false, maxBatchSize: 5_000 } as const;

/** Runs `load` once per organization among the keys and answers each key from its result (missing → `absent`). */
function perOrganization<Key, Value>(
  organizationOf: (key: Key) => string,
  idOf: (key: Key) => string,
  load: (organizationId: string, keys: Key[]) => Promise<Map<string, Value>>,
  absent: () => Value,
): DataLoader.BatchLoadFn<Key, Value> {
  return async (keys) => {
    const groups = new Map<string, Key[]>();
    for (const key of keys) {
      const group = groups.get(organizationOf(key));
      if (group) group.push(key);
      else groups.set(organizationOf(key), [key]);
    }
    const found = new Map<string, Map<string, Value>>();
    for (const [organizationId, group] of groups) found.set(organizationId, await load(organizationId, group));
    return keys.map((key) => found.get(organizationOf(key))?.get(idOf(key)) ?? absent());
  };
}

/** New loaders for one operation (an HTTP request, or one graphql-ws operation). */
export function createLoaders(services: Services): Loaders {
  const { deliveries, webhooks } = services;
  return {
    delivery: new DataLoader(
      perOrganization<ScopedId, Delivery | null>((k) => k.organizationId, (k) => k.id, (org, keys) => deliveries.getMany(org, keys.map((k) => k.id)), () => null),
      OPTIONS,
    ),
    attempts: new DataLoader(
      perOrganization<Delivery, DeliveryAttempt[]>((d) => d.organization, (d) => d.id, (org, keys) => deliveries.attemptsOfMany(org, keys.map((d) => d.id)), () => []),
      OPTIONS,
    ),
    nextAttemptAt: new DataLoader(async (keys: readonly Delivery[]) => {
      const found = await deliveries.nextAttemptsOfMany(keys);
      return keys.map((d) => found.get(d.id) ?? null);
    }, OPTIONS),
    events: new DataLoader(
      perOrganization<Delivery, AuditEvent[]>((d) => d.organization, (d) => d.id, (org, keys) => deliveries.eventsOfMany(org, keys), () => []),
      OPTIONS,
    ),
    webhook: new DataLoader(async (organizationIds: readonly string[]) => {
      const found = await webhooks.getManyByOrganization(organizationIds);
      return organizationIds.map((id) => found.get(id) ?? null);
    }, OPTIONS),
  };
}
