// The loopback receiver, a process of its own: answers every POST with 204 at once and records,
// per event id in the body's `data`, when it first saw it (nowMs, shared clock). Driven over IPC
// by the runner: reset, down (stop listening, drop connections: connection refused), up, stats,
// waitFor (bounded), collect.
import { createServer } from 'node:http';
import { nowMs, waitUntil, serveIpc } from './common.mjs';

const firstSight = new Map(); // event id -> ms
let awaited = new Set(); // ids a waitFor is waiting for that have not arrived yet
let requests = 0;
let lastArrivalMs = 0;
const sockets = new Set();
let port = 0;

const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const at = nowMs();
    res.writeHead(204).end(); // answer first: the receiver never slows a sender down
    requests++;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const event of body.data ?? []) {
        if (typeof event.id === 'string' && !firstSight.has(event.id)) {
          firstSight.set(event.id, at);
          awaited.delete(event.id);
          lastArrivalMs = at;
        }
      }
    } catch {
      // not JSON: counted as a request, no event
    }
  });
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

const listen = () => new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server.address().port)));

const handlers = {
  reset() {
    firstSight.clear();
    awaited = new Set();
    requests = 0;
    lastArrivalMs = 0;
    return {};
  },
  async down() {
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
    return {};
  },
  async up() {
    await listen();
    return { port };
  },
  stats() {
    return { events: firstSight.size, requests, lastArrivalMs };
  },
  /**
   * Waits until every one of `ids` arrived or `timeoutMs` passed. (A count of distinct events would
   * also count stragglers of an earlier phase and stop before the last of these arrived.)
   */
  async waitFor({ ids, timeoutMs }) {
    awaited = new Set(ids.filter((id) => !firstSight.has(id)));
    await waitUntil(() => awaited.size === 0, { timeoutMs, everyMs: 10 });
    return { events: firstSight.size, requests, lastArrivalMs };
  },
  /** First-sight times of the given ids (null where never seen). */
  collect({ ids }) {
    return { times: ids.map((id) => firstSight.get(id) ?? null) };
  },
};

serveIpc(handlers);

port = await listen();
process.send({ ready: true, port });
