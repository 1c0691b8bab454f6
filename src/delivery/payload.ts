/** The fields of an event as they go on the wire; optional ones that are absent are left out. */
export interface PayloadEvent {
  id: string;
  time: Date | string;
  action: string;
  actor: Record<string, unknown>;
  context: Record<string, unknown>[];
  container: Record<string, unknown>[];
  location?: Record<string, unknown> | null;
  message?: string | null;
}

/** What identifies one request body; the same on every attempt of a delivery. */
export interface PayloadEnvelope {
  deliveryId: string;
  organizationId: string;
  createdAt: Date;
  test: boolean;
}

/**
 * The JSON body receivers get: the shape of an Atlassian organization audit-log event list,
 * wrapped with the delivery id (also the webhook-id header) so a receiver can de-duplicate.
 */
export function buildPayload(envelope: PayloadEnvelope, events: PayloadEvent[]): string {
  return JSON.stringify({
    id: envelope.deliveryId,
    type: envelope.test ? 'audit_log.test' : 'audit_log.events',
    organizationId: envelope.organizationId,
    createdAt: envelope.createdAt.toISOString(),
    test: envelope.test,
    data: events.map((event) => ({
      id: event.id,
      type: 'events',
      attributes: {
        time: typeof event.time === 'string' ? event.time : event.time.toISOString(),
        action: event.action,
        actor: withoutNulls(event.actor),
        context: event.context.map(withoutNulls),
        container: event.container.map(withoutNulls),
        ...(event.location ? { location: withoutNulls(event.location) } : {}),
        ...(event.message !== null && event.message !== undefined ? { message: event.message } : {}),
      },
    })),
  });
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}
