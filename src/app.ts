import 'reflect-metadata';
import type { Config } from './config.js';
import { openDatabase, type MikroORM } from './db/orm.js';
import { createRowCounter } from './db/row-counts.js';
import { startHttpServer, type HttpServerHandle, type RouteHandler } from './http/server.js';
import { createSchema } from './graphql/schema.js';
import { DeliveryRuntime } from './jobs/delivery-runtime.js';
import { createJobBackend } from './jobs/job-backend.js';
import { createMetrics } from './metrics/metrics.js';
import type { WsSessionLimits, WsSessions } from './http/ws-sessions.js';
import type { Logger } from './lib/logger.js';
import { createServices, type Services } from './modules/services.js';
import type { DestinationPolicy } from './modules/webhooks/webhook.service.js';
import { createConsoleRoutes } from './web/console-routes.js';

/** A running audithook: the HTTP/WebSocket server, the database and the delivery runtime. */
export interface App {
  url: string;
  port: number;
  orm: MikroORM;
  services: Services;
  /** Open WebSocket connections of this process. */
  wsSessions: WsSessions;
  /** Stops accepting, finishes requests in flight, stops delivery, closes the database. */
  stop(): Promise<void>;
}

/** Knobs for embedding (tests): run without delivery, or replace the URL resolver. */
export interface AppOptions {
  deliver?: boolean;
  destinationPolicy?: Partial<DestinationPolicy>;
  /** Replaces DNS for delivery connections (tests simulate a DNS answer that changed after registration). */
  deliveryResolveHost?: (hostname: string) => Promise<string[]>;
  routes?: RouteHandler[];
  /** Overrides WebSocket bounds (tests shorten or lengthen the token re-check). */
  ws?: Partial<WsSessionLimits>;
}

/** The composition root: the only place that wires database, services, jobs and GraphQL together. */
export async function startApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const orm = await openDatabase(config.database, { logger, backgroundCheckpoints: true });
  // One registry per app (never prom-client's global one): tests run several apps in one process.
  // PostgreSQL counts with one statement on the pool; SQLite on a thread of its own (a count over a large file stalls).
  const metrics = createMetrics(orm, config.database.kind === 'sqlite' ? { rowCounter: createRowCounter(config.database) } : {});
  const services = createServices(orm, config, { metrics, logger, ...(options.destinationPolicy ? { destinationPolicy: options.destinationPolicy } : {}) });
  let runtime: DeliveryRuntime | null = null;
  let http: HttpServerHandle | null = null;
  try {
    if (options.deliver !== false) {
      runtime = new DeliveryRuntime({
        jobs: await createJobBackend(config.database, logger),
        config: config.delivery,
        allowPrivateDestinations: config.allowPrivateDestinations,
        deliveries: services.deliveryPipeline,
        logger,
        ...(options.deliveryResolveHost ? { resolveHost: options.deliveryResolveHost } : {}),
        retention: { config: config.retention, deliveries: services.deliveryRetention, events: services.auditEventRetention, metrics },
      });
      services.setDeliverySignals(runtime);
      await runtime.start();
    }
    const schema = await createSchema();
    http = await startHttpServer(
      {
        schema,
        services,
        logger,
        healthCheck: async () => {
          const database = await orm.em.getConnection().isConnected().catch(() => false);
          const jobs = runtime ? await runtime.jobStoreStatus() : null;
          return {
            status: database && (jobs?.ok ?? true) ? 'ok' : 'unavailable',
            database: { kind: config.database.kind, status: database ? 'ok' : 'unavailable' },
            jobs: jobs ? { backend: jobs.backend, status: jobs.ok ? 'ok' : 'unavailable' } : null,
          };
        },
        routes: options.routes ?? [createConsoleRoutes()],
        ws: { maxLifetimeMs: config.wsMaxLifetimeMs, ...options.ws },
        metrics: { metrics, token: config.metricsToken },
      },
      { host: config.host, port: config.port },
    );
  } catch (error) {
    await runtime?.stop(0).catch(() => undefined);
    await metrics.close();
    await orm.close(true);
    throw error;
  }
  const server = http;
  let stopping: Promise<void> | null = null;
  return {
    url: server.url,
    port: server.port,
    orm,
    services,
    wsSessions: server.sessions,
    stop() {
      stopping ??= (async () => {
        await server.close();
        logger.debug('http server closed');
        await runtime?.stop();
        logger.debug('delivery stopped');
        await metrics.close();
        await orm.close(true);
        logger.debug('database closed');
      })();
      return stopping;
    },
  };
}
