import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const consoleDir = dirname(fileURLToPath(import.meta.url));

/** Builds the admin console (index.html) and GraphiQL (graphiql.html) into dist/console, served by src/web/console-routes.ts. */
export default defineConfig({
  root: consoleDir,
  base: '/',
  publicDir: resolve(consoleDir, 'public'),
  plugins: [react()],
  // Monaco's language workers are ES modules (graphiql/setup-workers/vite imports them with ?worker).
  worker: { format: 'es' },
  build: {
    outDir: resolve(consoleDir, '../../dist/console'),
    emptyOutDir: true,
    // No data: URLs: every font and image is a same-origin file, so the CSP stays strict.
    assetsInlineLimit: 0,
    sourcemap: false,
    // GraphiQL bundles Monaco (several MB); it is loaded only on /graphiql, from this origin.
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
    rolldownOptions: {
      // GraphiQL's packages start with React Compiler's "use no memo" directive, which bundling drops harmlessly.
      onLog(level, log, handler) {
        if (log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
      input: {
        console: resolve(consoleDir, 'index.html'),
        graphiql: resolve(consoleDir, 'graphiql.html'),
      },
    },
  },
});
