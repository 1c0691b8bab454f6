#!/usr/bin/env node
// The `audithook` command (npx audithook). A committed file, so it keeps its executable bit whatever rebuilds dist/;
// the compiled CLI it loads checks the Node version first.
try {
  await import('../dist/src/cli.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli.js')) {
    process.stderr.write('audithook: not built yet; run npm ci (or npm run build) in the project first\n');
    process.exit(1);
  }
  throw error;
}
