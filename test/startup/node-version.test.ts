import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_VERSION, nodeVersionProblem } from '../../src/lib/node-version.js';
import { linesOf, PROJECT_ROOT, runCli } from '../support/cli-process.js';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

/** The machine's own Node as this machine kind ships it (Debian's /usr/bin/node, older than audithook needs). */
const SYSTEM_NODE = '/usr/bin/node';
const systemNodeVersion = existsSync(SYSTEM_NODE)
  ? (await run(SYSTEM_NODE, ['-p', 'process.versions.node'])).stdout.trim()
  : null;
const systemNodeIsOld = systemNodeVersion !== null && nodeVersionProblem(systemNodeVersion) !== null;

describe('the Node.js version audithook runs on', () => {
  it('comes with the project: an exact Node 24 devDependency whose install script is allowed', () => {
    expect(packageJson.devDependencies.node).toMatch(/^24\.\d+\.\d+$/);
    expect(packageJson.allowScripts.node).toBe(true);
    const [major, minor] = MIN_NODE_VERSION.split('.');
    expect(packageJson.engines.node).toBe(`>=${major}.${minor}`);
  });

  it.runIf(existsSync('/usr/bin/npm') && systemNodeIsOld)(
    'npm scripts and npm exec run on the project Node 24 even with the machine\'s older Node first on PATH',
    async () => {
      const env = { PATH: `/usr/bin:/bin`, HOME: process.env.HOME ?? '/root' };
      const outside = await run(SYSTEM_NODE, ['-v'], { env });
      expect(outside.stdout.trim()).toBe(`v${systemNodeVersion}`);
      const inside = await run('/usr/bin/npm', ['exec', '--', 'node', '-v'], { cwd: PROJECT_ROOT, env });
      expect(inside.stdout.trim()).toBe(`v${packageJson.devDependencies.node}`);
    },
  );

  it.runIf(existsSync('/usr/bin/npm') && systemNodeIsOld)(
    'npx audithook runs on the project Node 24 too (a command that opens SQLite, which crashes on the older Node)',
    async () => {
      const dir = tempDir('audithook-npx-');
      const env = { PATH: `/usr/bin:/bin`, HOME: process.env.HOME ?? '/root', DATABASE_URL: `sqlite:${join(dir, 'audithook.db')}` };
      const { stdout } = await run('/usr/bin/npm', ['exec', '--', 'audithook', 'migrate'], { cwd: PROJECT_ROOT, env });
      expect(stdout).toMatch(/^applied /);
    },
  );

  it('the audithook command is a committed executable file, not a compiled one a rebuild could leave non-executable', () => {
    const bin = (packageJson as unknown as { bin: Record<string, string> }).bin.audithook!;
    expect(bin).not.toMatch(/^dist\//);
    expect(statSync(join(PROJECT_ROOT, bin)).mode & 0o111).toBe(0o111);
  });

  it('names the version it needs when the running Node is older', () => {
    expect(nodeVersionProblem('20.20.2')).toMatch(/^needs Node\.js >= 22\.17 \(this is v20\.20\.2\); run it through npm \(npm start, npx audithook\)/);
    expect(nodeVersionProblem('v22.16.9')).toMatch(/this is v22\.16\.9/);
    expect(nodeVersionProblem('22.17.0')).toBeNull();
    expect(nodeVersionProblem('23.0.0')).toBeNull();
    expect(nodeVersionProblem('24.21.0')).toBeNull();
    expect(nodeVersionProblem('24.0.0', '24.0.1')).toMatch(/needs Node\.js >= 24\.0\.1/);
  });

  it.runIf(systemNodeIsOld)('the compiled CLI started directly on the machine\'s older Node exits 78 with one line, before opening anything', async () => {
    const dir = tempDir('audithook-oldnode-');
    const result = await runCli(['serve'], { DATABASE_URL: `sqlite:${join(dir, 'data', 'audithook.db')}` }, { nodePath: SYSTEM_NODE });
    expect(result.signal).toBeNull(); // no segmentation fault
    expect(result.code).toBe(78);
    expect(linesOf(result.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^audithook: needs Node\\.js >= 22\\.17 \\(this is v${systemNodeVersion!.replaceAll('.', '\\.')}\\); .*npm start.*Node 24`)),
    ]);
    expect(existsSync(join(dir, 'data'))).toBe(false); // stopped before configuration created the data folder
  });
});
