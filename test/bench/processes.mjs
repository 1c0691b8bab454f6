// The parties are processes: this module starts them, waits until they are ready, talks to the
// receiver over IPC, reads peak RSS, and kills every child it started (also on error and SIGINT).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const children = new Set();
const started = [];

/** Every process this run started ({ name, pid }), so a caller can check that none outlived it. */
export const startedProcesses = () => started.map((entry) => ({ ...entry }));

function track(name, child) {
  children.add(child);
  started.push({ name, pid: child.pid });
  child.once('exit', () => children.delete(child));
  return child;
}

const cleanups = [];

/** Registers a stop function (a party's, Redis's) that killAll runs, last registered first; it must be idempotent. */
export function addCleanup(fn) {
  cleanups.push(fn);
}

/** Runs the registered stops (newest first), then kills every child still running (SIGTERM, SIGKILL after `graceMs`). */
export async function killAll(graceMs = 2_000) {
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((error) => console.error(`cleanup failed: ${error?.message ?? error}`));
  await Promise.all([...children].map((child) => stopChild(child, graceMs)));
}

/** Stops one child: SIGTERM, SIGKILL after graceMs; resolves when it has exited. */
export function stopChild(child, graceMs = 2_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// Last resort when the runner exits abruptly: synchronous SIGKILL to whatever is left.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Spawns a long-running child that this module tracks and kills; output is drained (stderr tail kept). */
export function spawnTracked(name, command, args, { env, cwd } = {}) {
  const child = track(name, spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4_000)));
  return { child, stderr: () => stderr };
}

/**
 * Spawns `command args` and resolves once `isReady(line)` accepts a stdout line (JSON-parsed when
 * possible) or rejects after `timeoutMs` or an early exit; stderr is kept for the error message.
 */
export function startProcess(name, command, args, { env, cwd, ipc = false, isReady = (msg) => msg?.ready, timeoutMs = 30_000 } = {}) {
  const child = track(name, spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] }));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4_000)));
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      void stopChild(child);
      reject(new Error(`${name}: ${why}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const early = (code, signal) => fail(`exited (${code ?? signal}) before it was ready`);
    child.once('exit', early);
    const onReady = (message) => {
      if (!isReady(message)) return false;
      clearTimeout(timer);
      child.removeListener('exit', early);
      resolve({ child, ready: message, stderr: () => stderr });
      return true;
    };
    if (ipc) child.on('message', (message) => onReady(message));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let message = line;
      try {
        message = JSON.parse(line);
      } catch {
        // a plain line
      }
      onReady(message);
    });
  });
}

/** Runs a one-shot harness script with JSON params (secrets go in `env`) and resolves with the JSON of its last stdout line. */
export function runScript(script, params, { timeoutMs, env = {} }) {
  const child = track(script, spawn(process.execPath, [`${here}${script}`, JSON.stringify(params)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4_000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop();
      if (code === 0 && last) resolve(JSON.parse(last));
      else reject(new Error(`${script} ${signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exited ${code ?? signal}`}\n${stderr}`));
    });
  });
}

/** A request/answer client over a child's IPC channel (the receiver's and the hanging tenants' protocol). */
function ipcClient(child, name) {
  let seq = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message.seq);
    if (!waiter) return;
    pending.delete(message.seq);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${name} ${waiter.cmd}: ${message.error}`));
  });
  child.once('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited`));
    pending.clear();
  });
  return (cmd, args) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject, cmd });
      child.send({ seq: id, cmd, args });
    });
}

/** Starts the receiver process and returns a small IPC client for it. */
export async function startReceiver() {
  const { child, ready } = await startProcess('receiver', process.execPath, [`${here}receiver.mjs`], { ipc: true });
  const call = ipcClient(child, 'receiver');
  return {
    child,
    url: `http://127.0.0.1:${ready.port}/audit`,
    reset: () => call('reset'),
    down: () => call('down'),
    up: () => call('up'),
    stats: () => call('stats'),
    waitFor: (ids, timeoutMs) => call('waitFor', { ids, timeoutMs }),
    collect: (ids) => call('collect', { ids }),
  };
}

/** Starts `count` never-answering receivers and their organizations' trickle in one process (tenant isolation). */
export async function startHangingTenants(count) {
  const { child, ready } = await startProcess('hanging tenants', process.execPath, [`${here}hanging-tenants.mjs`, JSON.stringify({ count })], { ipc: true });
  const call = ipcClient(child, 'hanging tenants');
  return {
    child,
    urls: ready.urls,
    /** orgs = [{ organizationId, token }]; the tokens travel over IPC only. */
    trickle: (url, orgs, everyMs) => call('trickle', { url, orgs, everyMs }),
    stats: () => call('stats'),
    waitSaturated: (abandoned, timeoutMs) => call('waitSaturated', { abandoned, timeoutMs }),
    stop: async () => {
      const final = await call('stop');
      await stopChild(child);
      return final;
    },
  };
}

/** Peak resident set size of a live process in MB (Linux VmHWM), or null where /proc is unavailable. */
export function peakRssMb(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Polls a process's RSS (VmRSS) every `everyMs` and keeps the maximum; a fallback and cross-check for VmHWM. */
export function sampleRss(pid, everyMs = 200) {
  let maxMb = null;
  const read = () => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) maxMb = Math.max(maxMb ?? 0, Number(match[1]) / 1024);
    } catch {
      // gone or not Linux
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  timer.unref();
  return {
    /** The highest RSS seen, reading the kernel's own high-water mark too while the process lives. */
    stop() {
      read();
      clearInterval(timer);
      const hwm = peakRssMb(pid);
      return hwm === null ? maxMb : Math.max(hwm, maxMb ?? 0);
    },
  };
}
