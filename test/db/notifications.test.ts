import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessNotifications, MAX_NOTIFICATION_PAYLOAD_BYTES, NotificationChannels, type Notifications } from '../../src/db/notifications.js';
import { PgNotifications } from '../../src/db/pg-notifications.js';
import { waitFor } from '../support/server.js';
import { createPostgresDatabase } from '../support/test-database.js';

/** The notification port on both implementations: what services rely on, whichever runs. */

const open: Notifications[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});

async function pgPair(): Promise<[PgNotifications, PgNotifications, string]> {
  const url = await createPostgresDatabase();
  const a = await PgNotifications.connect({ connectionString: url });
  const b = await PgNotifications.connect({ connectionString: url });
  open.push(a, b);
  return [a, b, url];
}

describe('InProcessNotifications', () => {
  it('delivers to every subscriber of the channel on a later turn, not to other channels, not after unsubscribe', async () => {
    const bus = new InProcessNotifications();
    open.push(bus);
    const seen: string[] = [];
    const other: string[] = [];
    const stop = await bus.subscribe(NotificationChannels.eventsQueued, (p) => seen.push(`a:${p}`));
    await bus.subscribe(NotificationChannels.eventsQueued, (p) => seen.push(`b:${p}`));
    await bus.subscribe(NotificationChannels.slotReleased, (p) => other.push(p));
    await bus.publish(NotificationChannels.eventsQueued, 'one');
    expect(seen).toEqual([]); // never inside the publisher's call
    await waitFor(() => seen.length === 2);
    expect(seen.sort()).toEqual(['a:one', 'b:one']);
    await stop();
    await bus.publish(NotificationChannels.eventsQueued, 'two');
    await waitFor(() => seen.length === 3);
    expect(seen.at(-1)).toBe('b:two');
    expect(other).toEqual([]);
    expect(bus.crossProcess).toBe(false);
  });

  it('refuses a payload PostgreSQL would refuse, and a throwing subscriber does not stop the others', async () => {
    const bus = new InProcessNotifications();
    open.push(bus);
    await expect(bus.publish(NotificationChannels.attemptRecorded, 'x'.repeat(MAX_NOTIFICATION_PAYLOAD_BYTES + 1))).rejects.toThrow(/at most 7999 fit/);
    const seen: string[] = [];
    await bus.subscribe(NotificationChannels.eventsQueued, () => {
      throw new Error('boom');
    });
    await bus.subscribe(NotificationChannels.eventsQueued, (p) => seen.push(p));
    await bus.publish(NotificationChannels.eventsQueued, 'ok');
    await waitFor(() => seen.length === 1);
  });
});

describe('PgNotifications (LISTEN/NOTIFY on a throwaway database)', () => {
  it('a message published on one connection reaches the subscribers of every connection, the publisher included', async () => {
    const [a, b] = await pgPair();
    const atA: string[] = [];
    const atB: string[] = [];
    await a.subscribe(NotificationChannels.attemptRecorded, (p) => atA.push(p));
    await b.subscribe(NotificationChannels.attemptRecorded, (p) => atB.push(p));
    const big = JSON.stringify({ text: 'é'.repeat(3_000) }); // multi-byte: counted in bytes
    await a.publish(NotificationChannels.attemptRecorded, big);
    await waitFor(() => atA.length === 1 && atB.length === 1);
    expect(atB[0]).toBe(big);
    expect(a.crossProcess).toBe(true);
    await expect(a.publish(NotificationChannels.attemptRecorded, 'é'.repeat(4_000))).rejects.toThrow(/8000 bytes|at most 7999 fit/);
  });

  it('a burst of publishes arrives whole and in order (sent many per round trip), identical unsent ones once', async () => {
    const [a, b] = await pgPair();
    const atB: string[] = [];
    await b.subscribe(NotificationChannels.eventsQueued, (p) => atB.push(p));
    const payloads = Array.from({ length: 500 }, (_, i) => `wh_${i}`);
    await Promise.all([...payloads.map((p) => a.publish(NotificationChannels.eventsQueued, p)), a.publish(NotificationChannels.eventsQueued, 'wh_499')]);
    await waitFor(() => atB.length >= 500);
    expect(atB.slice(0, 500)).toEqual(payloads);
  });

  it('unsubscribing the last handler stops delivery to that connection only', async () => {
    const [a, b] = await pgPair();
    const atA: string[] = [];
    const atB: string[] = [];
    const stopA = await a.subscribe(NotificationChannels.eventsQueued, (p) => atA.push(p));
    await b.subscribe(NotificationChannels.eventsQueued, (p) => atB.push(p));
    await stopA();
    await b.publish(NotificationChannels.eventsQueued, 'after');
    await waitFor(() => atB.length === 1);
    // b's own NOTIFY arrived at b; a round trip on a proves a had its chance to receive it too.
    await a.publish(NotificationChannels.slotReleased, 'flush');
    expect(atA).toEqual([]);
  });

  it('reconnects after its connection is killed, listens again, and tells its consumers to catch up', async () => {
    const [a, b, url] = await pgPair();
    const atA: string[] = [];
    await a.subscribe(NotificationChannels.eventsQueued, (p) => atA.push(p));
    let reconnected = 0;
    a.onReconnected(() => reconnected++);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // End every connection of the test database but the admin's own: a's LISTEN connection (and b's) die.
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    } finally {
      await admin.end();
    }
    await waitFor(() => reconnected === 1, 10_000);
    await b.publish(NotificationChannels.eventsQueued, 'after reconnect');
    await waitFor(() => atA.includes('after reconnect'), 10_000);
  });
});
