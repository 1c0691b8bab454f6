// Baseline (c), front half: the bare Apollo server of (b) whose resolvers enqueue each event as a
// BullMQ job on Redis before answering. argv: --port --redis <url> --queue <name> --prefix <p>.
import { Queue } from 'bullmq';
import { parseFlags } from './common.mjs';
import { startBareApollo } from './bare-apollo-server.mjs';
import { connectionOf, peerJobOptions } from './bullmq-peer.mjs';

const flags = parseFlags(process.argv.slice(2));
const queue = new Queue(flags.queue, { connection: connectionOf(flags.redis), prefix: flags.prefix, defaultJobOptions: peerJobOptions() });
await queue.waitUntilReady();
await startBareApollo({
  port: Number(flags.port),
  token: process.env.BENCH_TOKEN,
  accept: async (events) => {
    if (events.length === 1) await queue.add('event', events[0]);
    else await queue.addBulk(events.map((event) => ({ name: 'event', data: event })));
    return events;
  },
});
