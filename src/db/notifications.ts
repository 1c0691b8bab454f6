/**
 * The notification port: small messages between the processes on one database (an event was
 * queued, an attempt was recorded, a webhook's request slot freed). Services publish and subscribe
 * through this interface only; which implementation runs is decided once, in the composition root.
 *
 * Delivery is best effort and at most once: a message published while a process is disconnected is
 * lost to it, so every consumer keeps a slower path (the outbox sweep, the token re-check, the
 * parked-job re-check) that finds the same work without it.
 */

/** The channels audithook uses; fixed names, so they can be used unquoted in LISTEN. */
export const NotificationChannels = {
  /** Payload: "<sender id> <webhook id>": the webhook's outbox has new events. Workers pump it. */
  eventsQueued: 'audithook_events_queued',
  /** Payload: a recorded attempt (JSON), or `{"attemptId": …}` when the attempt is too large for one notification. */
  attemptRecorded: 'audithook_attempt_recorded',
  /** Payload: "<sender id> <webhook id>": one of the webhook's request slots was released. Workers wake a parked attempt. */
  slotReleased: 'audithook_slot_released',
} as const;

/** One of audithook's channel names. */
export type NotificationChannel = (typeof NotificationChannels)[keyof typeof NotificationChannels];

/** PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more; larger messages must carry a reference instead. */
export const MAX_NOTIFICATION_PAYLOAD_BYTES = 7_999;

/** Called with each payload published on a channel (by any process, this one included). */
export type NotificationHandler = (payload: string) => void;

/** Publish/subscribe between processes sharing the database; see the module comment for the guarantees. */
export interface Notifications {
  /** Whether other processes on the database hear what this process publishes (false: this process only). */
  readonly crossProcess: boolean;
  /** Sends `payload` (at most MAX_NOTIFICATION_PAYLOAD_BYTES bytes of UTF-8) to every subscriber of `channel`. */
  publish(channel: NotificationChannel, payload: string): Promise<void>;
  /** Calls `handler` for every payload on `channel` until the returned function is called. */
  subscribe(channel: NotificationChannel, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Stops listening and releases the connection, if any. */
  close(): Promise<void>;
}

/** Refuses a payload PostgreSQL would refuse, so both implementations behave alike. */
export function assertPayloadFits(channel: string, payload: string): void {
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > MAX_NOTIFICATION_PAYLOAD_BYTES) {
    throw new RangeError(`notification on ${channel} is ${bytes} bytes; at most ${MAX_NOTIFICATION_PAYLOAD_BYTES} fit (send a reference instead)`);
  }
}

/**
 * Notifications within this process (SQLite, which has no cross-process pub/sub): delivered on a
 * later turn of the event loop, so a publisher never runs subscribers inside its own call. Other
 * processes on the same file find the same work by their sweeps.
 */
export class InProcessNotifications implements Notifications {
  readonly crossProcess = false;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private closed = false;

  async publish(channel: NotificationChannel, payload: string): Promise<void> {
    assertPayloadFits(channel, payload);
    const handlers = this.handlers.get(channel);
    if (!handlers || handlers.size === 0 || this.closed) return;
    setImmediate(() => {
      if (this.closed) return;
      for (const handler of [...handlers]) deliver(handler, payload);
    });
  }

  async subscribe(channel: NotificationChannel, handler: NotificationHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    // A function of its own, so one handler subscribed twice is unsubscribed once per subscription.
    const entry: NotificationHandler = (payload) => handler(payload);
    set.add(entry);
    return async () => {
      set.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}

/** Runs one handler; a throwing handler must not stop the others or crash the process. */
export function deliver(handler: NotificationHandler, payload: string): void {
  try {
    handler(payload);
  } catch {
    // Handlers log their own failures; a notification is only ever a hint.
  }
}
