// Baseline (b): a bare Apollo Server answering the same ingest mutations, storing nothing.
// Also the front half of the BullMQ peer (bullmq-peer-server.mjs passes an enqueue function).
// argv: --port <n>; the bearer token it accepts comes in BENCH_TOKEN. Prints {"ready":true,"url":...} once listening on 127.0.0.1.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parseFlags } from './common.mjs';
import { makeResolvers, typeDefs } from './apollo-schema.mjs';

/** Starts the server on 127.0.0.1; `accept` receives each request's events and returns them. */
export async function startBareApollo({ port, token, accept }) {
  const server = new ApolloServer({ typeDefs, resolvers: makeResolvers(accept), introspection: false });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorized: req.headers.authorization === `Bearer ${token}` }),
  });
  process.stdout.write(JSON.stringify({ ready: true, url }) + '\n');
  const stop = () => server.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv.slice(2));
  await startBareApollo({ port: Number(flags.port), token: process.env.BENCH_TOKEN, accept: async (events) => events });
}
