import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

/** Runs test/console/screenshots.ts alone (it is not a *.test.ts, so `npm test` leaves the docs' pictures alone). */
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: { ...base.test, projects: undefined, include: ['test/console/screenshots.ts'] },
});
