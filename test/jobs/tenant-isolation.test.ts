import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * One organization's dead receiver must not slow another's: 40 organizations whose receivers accept
 * connections and never answer (every request runs to AUDITHOOK_REQUEST_TIMEOUT, then retries) beside
 * one healthy organization. The healthy organization's latency (mutation answered → receiver first
 * sight) may not grow past max(200 ms, 3 × its p95 alone).
 */

const HANGING_ORGS = 40;
const EVENTS_PER_PHASE = 100;
const EVENT_INTERVAL_MS = 50; // 20 events/s for the healthy organization
const HANGING_EVENT_INTERVAL_MS = 1_000; // each hanging organization gets one event a second
const FLOOR_MS = 200;
const FACTOR = 3;

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;

/** A loopback receiver that accepts connections and reads requests but never answers. */
interface HangingReceiver {
  url: string;
  requests: number;
  /** Sockets the client gave up on (its request timed out). */
  abandoned: number;
  /** Most requests this receiver ever held open at once. */
  maxOpen: number;
  close(): Promise<void>;
}

async function startHangingReceiver(): Promise<HangingReceiver> {
  const sockets = new Set<Socket>();
  const state = { requests: 0, abandoned: 0, open: 0, maxOpen: 0, closing: false };
  const server: Server = createServer((request) => {
    // Never answers; the socket stays open until the client gives up.
    state.requests++;
    state.open++;
    state.maxOpen = Math.max(state.maxOpen, state.open);
    request.socket.once('close', () => state.open--);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (!state.closing) state.abandoned++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get requests() {
      return state.requests;
    },
    get abandoned() {
      return state.abandoned;
    },
    get maxOpen() {
      return state.maxOpen;
    },
    async close() {
      state.closing = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Nearest-rank percentile of `values` (ms). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

let server: TestServer;
let healthy: Receiver;
const hanging: HangingReceiver[] = [];

beforeAll(async () => {
  [server, healthy] = await Promise.all([startTestServer({ AUDITHOOK_REQUEST_TIMEOUT: '5s' }), startReceiver()]);
});
afterAll(async () => {
  // Hanging sockets first, so the server's requests in flight end now rather than at their timeout.
  await Promise.all(hanging.map((h) => h.close()));
  await Promise.all([server?.stop(), healthy?.close()]);
});

/** Records EVENTS_PER_PHASE events for the healthy organization at a steady rate; latency per event in ms. */
async function measureHealthy(label: string): Promise<{ p50: number; p95: number; missing: number }> {
  const answeredAt = new Map<string, number>();
  const started = Date.now();
  for (let i = 0; i < EVENTS_PER_PHASE; i++) {
    const dueAt = started + i * EVENT_INTERVAL_MS;
    const wait = dueAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const result = await server.gql(RECORD, { org: server.orgId, input: { action: 'healthy_probe', actor: { id: 'u-1' }, message: `${label}-${i}` } });
    expect(result.errors).toBeUndefined();
    answeredAt.set(result.data!.recordAuditEvent.id as string, Date.now());
  }
  const seenAt = (): Map<string, number> => {
    const seen = new Map<string, number>();
    for (const request of healthy.requests) {
      for (const event of Array.isArray(request.json?.data) ? (request.json.data as { id: string }[]) : []) {
        if (!seen.has(event.id)) seen.set(event.id, request.receivedAt);
      }
    }
    return seen;
  };
  // Bounded: an event not seen within 20 s counts as missing (and fails the test below).
  await waitFor(() => [...answeredAt.keys()].every((id) => seenAt().has(id)), 20_000).catch(() => undefined);
  const seen = seenAt();
  // A missing event counts as infinitely late.
  const latencies = [...answeredAt].map(([id, at]) => (seen.has(id) ? Math.max(0, seen.get(id)! - at) : Infinity));
  return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), missing: latencies.filter((l) => l === Infinity).length };
}

describe('tenant isolation', () => {
  it("keeps a healthy organization's delivery latency beside 40 organizations whose receivers hang", async () => {
    const registered = await server.gql(REGISTER, { org: server.orgId, input: { url: healthy.url } });
    expect(registered.errors).toBeUndefined();
    await waitFor(() => healthy.requests.length >= 1); // the registration event itself

    const alone = await measureHealthy('alone');
    expect(alone.missing).toBe(0);

    const orgs = [];
    for (let i = 0; i < HANGING_ORGS; i++) {
      const receiver = await startHangingReceiver();
      hanging.push(receiver);
      const org = await server.createOrg(`hanging-${i}`);
      const result = await server.gql(REGISTER, { org: org.orgId, input: { url: receiver.url } }, org.adminToken);
      expect(result.errors).toBeUndefined();
      orgs.push(org);
    }

    // A steady trickle for every hanging organization, staggered so the load is even.
    let trickling = true;
    let sent = 0;
    const trickle = Promise.all(
      orgs.map(async (org, i) => {
        await new Promise((r) => setTimeout(r, (i * HANGING_EVENT_INTERVAL_MS) / HANGING_ORGS));
        while (trickling) {
          const result = await server.gql(RECORD, { org: org.orgId, input: { action: 'hanging_probe', actor: { id: 'u-2' } } }, org.adminToken);
          expect(result.errors).toBeUndefined();
          sent++;
          await new Promise((r) => setTimeout(r, HANGING_EVENT_INTERVAL_MS));
        }
      }),
    );
    try {
      // Saturated: requests to the hanging receivers have timed out and their retries pile up.
      await waitFor(() => hanging.reduce((n, h) => n + h.abandoned, 0) >= HANGING_ORGS * 2, 30_000, 100);
      const beside = await measureHealthy('beside');
      const targetMs = Math.max(FLOOR_MS, FACTOR * alone.p95);
      const summary = {
        alone,
        beside,
        targetMs,
        hangingEventsSent: sent,
        hangingRequests: hanging.reduce((n, h) => n + h.requests, 0),
        hangingTimedOut: hanging.reduce((n, h) => n + h.abandoned, 0),
        hangingMaxOpenPerReceiver: Math.max(...hanging.map((h) => h.maxOpen)),
      };
      console.log(`tenant isolation: ${JSON.stringify(summary)}`);
      expect(beside.missing, JSON.stringify(summary)).toBe(0);
      expect(beside.p95, JSON.stringify(summary)).toBeLessThanOrEqual(targetMs);
      // Each webhook used its own slots, and no more (AUDITHOOK_WEBHOOK_CONCURRENCY, 4 by default).
      expect(summary.hangingMaxOpenPerReceiver).toBeLessThanOrEqual(server.config.delivery.webhookConcurrency);
    } finally {
      trickling = false;
      await trickle;
    }
  }, 120_000);
});
