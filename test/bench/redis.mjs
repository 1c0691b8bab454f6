// Redis for the BullMQ peer: the one on 127.0.0.1:6379 when it answers PING, else Debian's
// redis-server started here on a free loopback port (no persistence), else none (rows skipped).
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { freePort, waitUntil } from './common.mjs';
import { addCleanup, startProcess, stopChild } from './processes.mjs';

/** True when a Redis at 127.0.0.1:port answers PING within timeoutMs. */
export function pingRedis(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function findBinary(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : null;
}

/** A Redis to use: { url, source, stop() }, or { url: null, reason } when there is none; `port: null` skips looking for one. */
export async function ensureRedis({ port: knownPort = 6379 } = {}) {
  if (knownPort !== null && (await pingRedis(knownPort))) return { url: `redis://127.0.0.1:${knownPort}`, source: `existing 127.0.0.1:${knownPort}`, stop: async () => undefined };
  const binary = findBinary('redis-server');
  if (!binary) return { url: null, reason: 'no Redis: nothing answers on 127.0.0.1:6379 and redis-server is not installed' };
  const port = await freePort();
  const { child } = await startProcess('redis-server', binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    isReady: (line) => typeof line === 'string' && /Ready to accept connections/i.test(line),
  });
  if (!(await waitUntil(() => pingRedis(port), { timeoutMs: 5_000, everyMs: 50 }))) {
    await stopChild(child);
    return { url: null, reason: `redis-server started on ${port} but does not answer PING` };
  }
  const stop = () => stopChild(child);
  addCleanup(stop);
  return { url: `redis://127.0.0.1:${port}`, source: `redis-server started on 127.0.0.1:${port}`, stop };
}
