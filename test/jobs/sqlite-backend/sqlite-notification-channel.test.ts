import { toJobId } from 'agenda';
import type { JobNotification, JobStateNotification } from 'agenda';
import { describe, expect, it } from 'vitest';
import { SqliteNotificationChannel } from '../../../src/jobs/sqlite-backend/index.js';
import { sleep } from './helpers.js';

function notification(overrides: Partial<JobNotification> = {}): JobNotification {
  return { jobId: toJobId('job-1'), jobName: 'send', nextRunAt: new Date(), priority: 0, timestamp: new Date(), ...overrides };
}

/** Lets setImmediate callbacks (the channel's delivery) run. */
const deliveries = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SqliteNotificationChannel', () => {
  it('goes disconnected -> connected -> disconnected, announcing each change', async () => {
    const channel = new SqliteNotificationChannel();
    const states: string[] = [];
    channel.on('stateChange', (state) => states.push(state));
    expect(channel.state).toBe('disconnected');
    await channel.connect();
    await channel.disconnect();
    expect(states).toEqual(['connected', 'disconnected']);
  });

  it('refuses to publish while disconnected', async () => {
    const channel = new SqliteNotificationChannel();
    await expect(channel.publish(notification())).rejects.toThrow(/not connected/);
    await channel.connect();
    await channel.disconnect();
    await expect(channel.publish(notification())).rejects.toThrow(/not connected/);
    await expect(channel.publishState({ type: 'start', jobId: toJobId('j'), jobName: 'send', timestamp: new Date() })).rejects.toThrow(/not connected/);
  });

  it('delivers to every subscriber after publish() returns, with the notification as published', async () => {
    const channel = new SqliteNotificationChannel();
    await channel.connect();
    const first: JobNotification[] = [];
    const second: JobNotification[] = [];
    channel.subscribe((n) => {
      first.push(n);
    });
    const unsubscribe = channel.subscribe((n) => {
      second.push(n);
    });
    const sent = notification({ nextRunAt: null, priority: 10, source: 'api' });
    await channel.publish(sent);
    expect(first).toEqual([]); // not delivered synchronously: the saving caller is never held up
    await deliveries();
    expect(first).toEqual([sent]);
    expect(second).toEqual([sent]);

    unsubscribe();
    await channel.publish(notification({ jobName: 'after-unsubscribe' }));
    await deliveries();
    expect(first.map((n) => n.jobName)).toEqual(['send', 'after-unsubscribe']);
    expect(second).toHaveLength(1);
  });

  it('drops notifications that are still pending when the channel disconnects', async () => {
    const channel = new SqliteNotificationChannel();
    await channel.connect();
    const received: JobNotification[] = [];
    channel.subscribe((n) => {
      received.push(n);
    });
    await channel.publish(notification());
    await channel.disconnect();
    await deliveries();
    expect(received).toEqual([]);
  });

  it('keeps delivering to other subscribers when one throws or rejects, reporting the errors', async () => {
    const channel = new SqliteNotificationChannel();
    await channel.connect();
    const errors: string[] = [];
    channel.on('error', (error) => errors.push(error.message));
    channel.subscribe(() => {
      throw new Error('sync failure');
    });
    channel.subscribe(async () => {
      throw new Error('async failure');
    });
    const received: JobNotification[] = [];
    channel.subscribe((n) => {
      received.push(n);
    });
    await channel.publish(notification());
    await deliveries();
    await sleep(0);
    expect(received).toHaveLength(1);
    expect(errors.sort()).toEqual(['async failure', 'sync failure']);
  });

  it('does not crash the process when a handler fails and nobody listens for errors', async () => {
    const channel = new SqliteNotificationChannel();
    await channel.connect();
    channel.subscribe(() => {
      throw new Error('unheard');
    });
    await channel.publish(notification());
    await deliveries();
    expect(channel.state).toBe('connected');
  });

  it('carries job state notifications to state subscribers', async () => {
    const channel = new SqliteNotificationChannel();
    await channel.connect();
    const received: JobStateNotification[] = [];
    channel.subscribeState((n) => {
      received.push(n);
    });
    const sent: JobStateNotification = { type: 'fail', jobId: toJobId('j'), jobName: 'send', timestamp: new Date(), error: 'boom', failCount: 2 };
    await channel.publishState(sent);
    await deliveries();
    expect(received).toEqual([sent]);
  });
});
