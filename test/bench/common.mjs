// Small helpers shared by the benchmark's processes: one clock, percentiles, free ports, bounded waits.
import { createServer } from 'node:net';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Resolves after `ms`; the only pause the harness uses is inside bounded polling loops. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The p-th percentile (nearest rank) of numbers; null for none, so an empty sample never reads as 0 ms. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for processes that need their port up front). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then returns null). */
export async function waitUntil(check, { timeoutMs, everyMs = 20 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= deadline) return null;
    await sleep(everyMs);
  }
}

/** Only loopback URLs are ever contacted: the harness refuses anything else before sending. */
export function assertLoopback(url) {
  const { hostname } = new URL(url);
  if (hostname !== '127.0.0.1' && hostname !== '[::1]' && hostname !== 'localhost') throw new Error(`benchmark traffic must stay on loopback, got ${url}`);
  return url;
}

/** One audit event input, the same for every party, so every server parses the same GraphQL. */
export const eventInput = (i) => ({
  action: 'bench_event',
  actor: { id: `user-${i % 97}`, name: 'Bench User' },
  context: [{ id: `doc-${i}`, type: 'document' }],
  message: `event ${i}`,
});

/** The audithook request body shape (src/delivery/payload.ts) for events that have ids. */
export const payloadBody = (deliveryId, events) =>
  JSON.stringify({
    id: deliveryId,
    type: 'audit_log.events',
    organizationId: 'org_bench',
    createdAt: new Date().toISOString(),
    test: false,
    data: events.map((e) => ({ id: e.id, type: 'events', attributes: { time: e.time, action: e.action, actor: e.actor, context: e.context ?? [], container: e.container ?? [], ...(e.message ? { message: e.message } : {}) } })),
  });

/** Parses `--name value` / `--flag` arguments into an object (values stay strings). */
export function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const [name, inline] = arg.slice(2).split('=', 2);
    if (inline !== undefined) flags[name] = inline;
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) flags[name] = argv[++i];
    else flags[name] = true;
  }
  return flags;
}

/** A bench child process answers the runner's `{ seq, cmd, args }` messages with `handlers[cmd](args)`, and exits with it. */
export function serveIpc(handlers) {
  process.on('message', async (message) => {
    const { seq, cmd, args } = message;
    try {
      const result = await handlers[cmd](args ?? {});
      process.send({ seq, ok: true, result });
    } catch (error) {
      process.send({ seq, ok: false, error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0)); // the runner is gone: so are we
}
