// The dead tenants of the tenant-isolation scenario, a process of its own: `count` loopback
// receivers that accept connections and read requests but never answer (each request runs to
// audithook's AUDITHOOK_REQUEST_TIMEOUT), and a steady trickle of events for the organizations whose
// webhooks point at them. Driven over IPC by the runner: trickle (start), stats, waitSaturated
// (bounded), stop (ends the trickle, destroys every held socket). Params (argv[2], JSON): { count }.
import { createServer, Agent, request } from 'node:http';
import { assertLoopback, eventInput, waitUntil, serveIpc } from './common.mjs';

const { count } = JSON.parse(process.argv[2]);
const SINGLE = 'mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }';

const receivers = [];
const totals = { requests: 0, abandoned: 0, sent: 0, errors: 0, firstError: null };
let closing = false;

async function hangingReceiver() {
  const sockets = new Set();
  const state = { open: 0, maxOpen: 0 };
  const server = createServer((req) => {
    // Never answers: the request is held open until the sender gives up.
    totals.requests++;
    state.open++;
    state.maxOpen = Math.max(state.maxOpen, state.open);
    req.socket.once('close', () => state.open--);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (!closing) totals.abandoned++;
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    state,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

let trickling = false;
let loops = [];

/** One organization's trickle: a single-event mutation every `everyMs`, until stopped. */
async function trickleLoop(target, org, everyMs, offsetMs, agent) {
  await new Promise((resolve) => setTimeout(resolve, offsetMs));
  while (trickling) {
    const started = Date.now();
    try {
      await post(target, agent, org.token, JSON.stringify({ query: SINGLE, variables: { org: org.organizationId, input: eventInput(totals.sent) } }));
      totals.sent++;
    } catch (error) {
      totals.errors++;
      totals.firstError ??= String(error.message ?? error);
    }
    const waitMs = everyMs - (Date.now() - started);
    if (waitMs > 0 && trickling) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

function post(target, agent, token, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (answer.errors || !answer.data) reject(new Error(JSON.stringify(answer.errors ?? answer).slice(0, 300)));
            else resolve(answer);
          } catch (error) {
            reject(new Error(`HTTP ${res.statusCode}: not JSON (${error.message})`));
          }
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const stats = () => ({ ...totals, maxOpenPerReceiver: Math.max(0, ...receivers.map((r) => r.state.maxOpen)) });

const handlers = {
  /** Starts the trickle: `orgs` = [{ organizationId, token }], one event per org every `everyMs`, staggered. */
  trickle({ url, orgs, everyMs }) {
    const target = new URL(assertLoopback(url));
    const agent = new Agent({ keepAlive: true, maxSockets: orgs.length });
    trickling = true;
    loops = orgs.map((org, i) => trickleLoop(target, org, everyMs, (i * everyMs) / orgs.length, agent));
    return {};
  },
  stats,
  /** Waits until `abandoned` requests were given up by the sender (timeouts: retries pile up) or `timeoutMs` passed. */
  async waitSaturated({ abandoned, timeoutMs }) {
    await waitUntil(() => totals.abandoned >= abandoned, { timeoutMs, everyMs: 50 });
    return stats();
  },
  /** Ends the trickle and drops every held connection (the sender's requests then fail at once). */
  async stop() {
    trickling = false;
    await Promise.all(loops);
    closing = true;
    await Promise.all(receivers.map((r) => r.close()));
    return stats();
  },
};

serveIpc(handlers);

for (let i = 0; i < count; i++) receivers.push(await hangingReceiver());
process.send({ ready: true, urls: receivers.map((r) => r.url) });
