import type { ApolloServerPlugin } from '@apollo/server';
import type { AppMetrics } from '../metrics/metrics.js';

/** Counts each GraphQL operation over HTTP by type and outcome (ok/error), like the logging plugin judges it. */
export function operationMetricsPlugin(metrics: Pick<AppMetrics, 'graphqlOperation'>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, errors, response }) {
          const body = response.body;
          const resultErrors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
          const outcome = (errors?.length ?? 0) > 0 || resultErrors.length > 0 ? 'error' : 'ok';
          metrics.graphqlOperation(operation?.operation ?? null, outcome);
        },
      };
    },
  };
}
