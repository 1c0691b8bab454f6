import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { assertPayloadFits, deliver, type NotificationChannel, type NotificationHandler, type Notifications } from './notifications.js';

/** First wait before reconnecting a lost LISTEN connection; doubles up to RECONNECT_MAX_MS. */
const RECONNECT_MIN_MS = 250;
/** Longest wait between reconnection tries. */
const RECONNECT_MAX_MS = 5_000;
/** Most notifications sent in one statement. */
const NOTIFY_BATCH = 100;

/** How to reach PostgreSQL: what `pg` takes (connection string, ssl, …). */
export type PgNotificationsConnection = pg.ClientConfig;

/**
 * Notifications over PostgreSQL LISTEN/NOTIFY: every process on the database hears every message,
 * within milliseconds of the publisher's NOTIFY. One dedicated connection per process listens and
 * publishes; if it drops, it is reopened with backoff, every channel is listened to again, and
 * `onReconnected` callbacks run so consumers can catch up on what they may have missed.
 */
export class PgNotifications implements Notifications {
  readonly crossProcess = true;
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnected = new Set<() => void>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private connecting: Promise<pg.Client> | null = null;
  /** Statements run one at a time on the one connection (pg deprecates overlapping queries on a client). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Notifications queued but not yet sent, by channel and payload: an identical one joins it instead of repeating it. */
  private readonly unsent = new Map<string, Promise<void>>();
  /** Notifications waiting for the next round trip, which sends up to NOTIFY_BATCH of them in one statement. */
  private readonly outgoing: { channel: string; payload: string; key: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;

  private constructor(
    private readonly connection: PgNotificationsConnection,
    private readonly logger: Logger | null,
  ) {}

  /** Opens the listening connection; fails (with pg's error) when the database cannot be reached. */
  static async connect(connection: PgNotificationsConnection, logger: Logger | null = null): Promise<PgNotifications> {
    const notifications = new PgNotifications(connection, logger);
    await notifications.open();
    return notifications;
  }

  /** Runs `callback` after each reconnection (not after the first connect); returns its removal. */
  onReconnected(callback: () => void): () => void {
    this.reconnected.add(callback);
    return () => this.reconnected.delete(callback);
  }

  async publish(channel: NotificationChannel, payload: string): Promise<void> {
    assertPayloadFits(channel, payload);
    const key = `${channel}\n${payload}`;
    const waiting = this.unsent.get(key);
    if (waiting) return waiting; // a hint already on its way says the same
    const sent = new Promise<void>((resolve, reject) => this.outgoing.push({ channel, payload, key, resolve, reject }));
    this.unsent.set(key, sent);
    this.flush();
    return sent;
  }

  /** Sends what is waiting, many notifications per round trip and commit (under load, one each would queue up). */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.serially(async (client) => {
      while (this.outgoing.length > 0) {
        const batch = this.outgoing.splice(0, NOTIFY_BATCH);
        for (const message of batch) this.unsent.delete(message.key);
        const calls = batch.map((_, i) => `pg_notify($${2 * i + 1}, $${2 * i + 2})`).join(', ');
        try {
          await client.query(`SELECT ${calls}`, batch.flatMap((message) => [message.channel, message.payload]));
          for (const message of batch) message.resolve();
        } catch (error) {
          for (const message of batch) message.reject(error);
        }
      }
    })
      .catch((error: unknown) => {
        for (const message of this.outgoing.splice(0)) {
          this.unsent.delete(message.key);
          message.reject(error);
        }
      })
      .finally(() => {
        this.flushing = false;
        if (this.outgoing.length > 0) this.flush();
      });
  }

  async subscribe(channel: NotificationChannel, handler: NotificationHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    const entry: NotificationHandler = (payload) => handler(payload);
    set.add(entry);
    if (first) await this.serially((client) => client.query(`LISTEN ${quoteChannel(channel)}`));
    return async () => {
      set.delete(entry);
      if (set.size > 0 || this.handlers.get(channel) !== set) return;
      this.handlers.delete(channel);
      if (this.client && !this.closed) await this.serially((client) => client.query(`UNLISTEN ${quoteChannel(channel)}`)).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.handlers.clear();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** Runs `task` on the connected client after every statement queued before it. */
  private serially<T>(task: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => task(await this.ready()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The connected client, waiting for a reconnection in progress. */
  private async ready(): Promise<pg.Client> {
    if (this.closed) throw new Error('notifications are closed');
    if (this.client) return this.client;
    return this.connecting ?? this.open();
  }

  private open(): Promise<pg.Client> {
    this.connecting ??= (async () => {
      const client = new pg.Client(this.connection);
      client.on('notification', (message) => {
        const handlers = this.handlers.get(message.channel);
        if (!handlers) return;
        for (const handler of [...handlers]) deliver(handler, message.payload ?? '');
      });
      client.on('error', (error) => this.lost(client, error));
      client.on('end', () => this.lost(client, null));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`);
      } catch (error) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw error;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        throw new Error('notifications are closed');
      }
      this.client = client;
      this.reconnectDelayMs = RECONNECT_MIN_MS;
      return client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(client: pg.Client, error: Error | null): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    this.logger?.warn({ err: error ?? undefined }, 'lost the PostgreSQL notification connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, delayMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open().then(
        () => {
          this.logger?.info('PostgreSQL notification connection re-established');
          for (const callback of [...this.reconnected]) callback();
        },
        (error: unknown) => {
          this.logger?.warn({ err: error }, 'could not reconnect the PostgreSQL notification connection; retrying');
          this.scheduleReconnect();
        },
      );
    }, delayMs);
    this.reconnectTimer.unref();
  }
}

function quoteChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  return `"${channel}"`;
}
