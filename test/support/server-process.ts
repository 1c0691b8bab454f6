import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CLI_PATH, PROJECT_ROOT, exitWithin } from './cli-process.js';

/** One log line of a child server (pino JSON). */
export interface LogEntry {
  level?: number;
  msg?: string;
  url?: string;
  [field: string]: unknown;
}

/** An `audithook serve` child process that is listening. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line it has written so far. */
  logs: LogEntry[];
  /** Log lines at warn level or above (pino: 40 warn, 50 error, 60 fatal). */
  problems(): LogEntry[];
  /** SIGTERM, then the exit code (SIGKILL and null after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Starts the compiled `audithook serve [args]` with exactly `env` (plus PATH); resolves once its "listening" line names the URL. */
export function startServerProcess(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const logs: LogEntry[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        return; // not a log line
      }
      logs.push(entry);
      if (typeof entry.url === 'string' && entry.msg?.includes('listening')) {
        resolve({
          child,
          url: entry.url,
          logs,
          problems: () => logs.filter((e) => (e.level ?? 0) >= 40 && !/AUDITHOOK_ALLOW_(HTTP|PRIVATE_DESTINATIONS) is on/.test(e.msg ?? '')),
          async stop(timeoutMs = 20_000) {
            if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
            child.kill('SIGTERM');
            const exited = await exitWithin(child, timeoutMs);
            if (exited) return exited.code;
            child.kill('SIGKILL');
            return null;
          },
        });
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`audithook serve exited (${code ?? signal}) before listening`)));
  });
}

/** Creates an organization through the CLI on the database in `env`; returns its id and first ADMIN token. */
export async function createOrgWithCli(env: Record<string, string>, name: string): Promise<{ orgId: string; adminToken: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI_PATH, 'org', 'create', '--name', name, '--json'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const created = JSON.parse(stdout) as { organization: { id: string }; token: string };
  return { orgId: created.organization.id, adminToken: created.token };
}

/** One GraphQL POST as a client sees it: HTTP status and body. */
export async function postGraphql(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; data?: any; errors?: unknown[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  try {
    return { status: response.status, ...(JSON.parse(text) as { data?: any; errors?: unknown[] }) };
  } catch {
    return { status: response.status, errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
}
