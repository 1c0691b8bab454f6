import 'reflect-metadata';
import type { Config } from './config.js';
import { openDatabase, type MikroORM } from './db/orm.js';
import { createRowCounter } from './db/row-counts.js';
import { sqlOf } from './db/kysely.js';
import { InProcessNotifications, type Notifications } from './db/notifications.js';
import { startProbeServer } from './http/probe-server.js';
import { PgNotifications } from './db/pg-notifications.js';
import { postgresPoolConfig } from './db/postgres.js';
import { startHttpServer, type HealthReport, type HttpServerHandle, type RouteHandler } from './http/server.js';
import { createSchema } from './graphql/schema.js';
import { DeliveryRuntime } from './jobs/delivery-runtime.js';
import { createJobBackend } from './jobs/job-backend.js';
import { createMetrics, type AppMetrics } from './metrics/metrics.js';
import type { WsSessionLimits, WsSessions } from './http/ws-sessions.js';
import type { Logger } from './lib/logger.js';
import { createServices, type Services } from './modules/services.js';
import type { DestinationPolicy } from './modules/webhooks/webhook.service.js';
import { createConsoleRoutes } from './web/console-routes.js';

/** A running audithook: the HTTP/WebSocket server, the database and the delivery runtime. */
export interface App {
  /** The GraphQL URL; for a worker, the base URL of its /healthz and /metrics. */
  url: string;
  port: number;
  orm: MikroORM;
  services: Services;
  /** Open WebSocket connections of this process (null for a worker, which serves none). */
  wsSessions: WsSessions | null;
  /** Stops accepting, finishes requests in flight, stops delivery, closes the database. */
  stop(): Promise<void>;
}

/** Knobs for embedding (tests): run without delivery, or replace the URL resolver. */
export interface AppOptions {
  /** false: no job layer at all (tests of the API alone); the role decides the rest. */
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
  const workerId = `audithook-${config.role}-${process.pid}`;
  let notifications: Notifications | null = null;
  // One registry per app (never prom-client's global one): tests run several apps in one process.
  // PostgreSQL counts with one statement on the pool; SQLite on a thread of its own (a count over a large file stalls).
  const metrics = createMetrics(orm, config.database.kind === 'sqlite' ? { rowCounter: createRowCounter(config.database) } : {});
  let runtime: DeliveryRuntime | null = null;
  let http: HttpServerHandle | null = null;
  let probe: Awaited<ReturnType<typeof startProbeServer>> | null = null;
  try {
    notifications = await openNotifications(config, logger);
    const services = createServices(orm, config, {
      metrics,
      notifications,
      logger,
      ...(options.destinationPolicy ? { destinationPolicy: options.destinationPolicy } : {}),
    });
    if (options.deliver !== false) {
      runtime = new DeliveryRuntime({
        jobs: await createJobBackend(config.database, logger),
        db: () => sqlOf(orm.em.fork()),
        notifications,
        deliver: config.role !== 'api',
        workerId,
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
    const healthCheck = async (): Promise<HealthReport> => {
      const database = await orm.em.getConnection().isConnected().catch(() => false);
      // An api process saves jobs too, but its /healthz answers for what it serves; workers report the job store.
      const jobs = runtime && config.role !== 'api' ? await runtime.jobStoreStatus() : null;
      return {
        status: database && (jobs?.ok ?? true) ? 'ok' : 'unavailable',
        database: { kind: config.database.kind, status: database ? 'ok' : 'unavailable' },
        jobs: jobs ? { backend: jobs.backend, status: jobs.ok ? 'ok' : 'unavailable' } : null,
      };
    };
    if (config.role === 'worker') {
      probe = await startProbeServer({ logger, healthCheck, metrics: { metrics, token: config.metricsToken } }, { host: config.host, port: config.port });
    } else {
      await services.deliveries.feed.listen();
      const schema = await createSchema();
      http = await startHttpServer(
        {
          schema,
          services,
          logger,
          healthCheck,
          routes: options.routes ?? [createConsoleRoutes()],
          ws: { maxLifetimeMs: config.wsMaxLifetimeMs, ...options.ws },
          metrics: { metrics, token: config.metricsToken },
        },
        { host: config.host, port: config.port },
      );
    }
    return running({ orm, services, http, probe, runtime, notifications, metrics, logger });
  } catch (error) {
    await http?.close().catch(() => undefined);
    await probe?.close().catch(() => undefined);
    await runtime?.stop(0).catch(() => undefined);
    await metrics.close();
    await notifications?.close().catch(() => undefined);
    await orm.close(true);
    throw error;
  }
}

/** The App of started parts, with the stop order: stop accepting, finish deliveries, close the database. */
function running(parts: {
  orm: MikroORM;
  services: Services;
  http: HttpServerHandle | null;
  probe: Awaited<ReturnType<typeof startProbeServer>> | null;
  runtime: DeliveryRuntime | null;
  notifications: Notifications;
  metrics: AppMetrics;
  logger: Logger;
}): App {
  const { orm, services, http, probe, runtime, notifications, metrics, logger } = parts;
  let stopping: Promise<void> | null = null;
  return {
    url: http?.url ?? probe!.url,
    port: http?.port ?? probe!.port,
    orm,
    services,
    wsSessions: http?.sessions ?? null,
    stop() {
      stopping ??= (async () => {
        await http?.close();
        await probe?.close();
        logger.debug('http server closed');
        await services.deliveries.feed.stopListening().catch(() => undefined);
        await runtime?.stop();
        logger.debug('delivery stopped');
        await metrics.close();
        await notifications.close();
        await orm.close(true);
        logger.debug('database closed');
      })();
      return stopping;
    },
  };
}

/** The notification port for the configured database: LISTEN/NOTIFY on PostgreSQL, in-process for SQLite. */
async function openNotifications(config: Config, logger: Logger): Promise<Notifications> {
  if (config.database.kind === 'sqlite') return new InProcessNotifications();
  const { max: _max, ...connection } = postgresPoolConfig(config.database, 1);
  return PgNotifications.connect(connection, logger);
}
