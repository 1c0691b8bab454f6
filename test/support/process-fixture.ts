import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import { startReceiver, type Receiver } from './receiver.js';
import type { ServerProcess } from './server-process.js';
import { tempDir } from './temp-dir.js';

/**
 * What a test of separate server processes holds: the processes it started (push them to `servers`),
 * a data folder and a loopback receiver (from `open`). All stopped and removed after each test.
 */
export function processFixture(): { servers: ServerProcess[]; open(prefix: string): Promise<{ dir: string; receiver: Receiver }> } {
  const servers: ServerProcess[] = [];
  let dir = '';
  let receiver: Receiver | null = null;
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop(5_000)));
    await receiver?.close();
    receiver = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });
  return {
    servers,
    async open(prefix) {
      dir = tempDir(prefix);
      receiver = await startReceiver();
      return { dir, receiver };
    },
  };
}
