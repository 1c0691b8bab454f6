import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Compiles the server once per test run, so child-process tests (CLI, crash recovery) run current code. */
export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
}
