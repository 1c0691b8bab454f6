// Imported first by the CLI, before any module with native code (better-sqlite3 crashes on older Node):
// an older Node stops here with one line and exit code 78 instead of a segmentation fault.
// It imports nothing else, so it evaluates before the rest of the CLI's imports.
import { nodeVersionProblem } from './lib/node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== null) {
  process.stderr.write(`audithook: ${problem}\n`);
  process.exit(78);
}
