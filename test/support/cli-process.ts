import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI (test/support/global-setup.ts compiles it before the run). */
export const CLI_PATH = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

/** The project root, the working directory the CLI runs in. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How a CLI process ended and what it wrote. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for one CLI run: another Node binary, another user (root tests of permissions), a time limit. */
export interface CliRunOptions {
  nodePath?: string;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

/** Runs the compiled CLI to completion with exactly `env` (plus PATH); kills it after `timeoutMs`. */
export function runCli(args: string[], env: Record<string, string>, options: CliRunOptions = {}): Promise<CliResult> {
  const child = spawn(options.nodePath ?? process.execPath, [CLI_PATH, ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves when the child exits, or with null after `timeoutMs` (the child is then still running). */
export function exitWithin(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** The lines of a stream's text, without the trailing newline; a clean one-line message has exactly one. */
export function linesOf(text: string): string[] {
  const trimmed = text.trimEnd();
  return trimmed === '' ? [] : trimmed.split('\n');
}
