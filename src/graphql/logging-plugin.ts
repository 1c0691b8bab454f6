import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../lib/logger.js';

/** One log line per GraphQL operation: name, duration and outcome; never variables (they may hold secrets). */
export function operationLoggingPlugin(logger: Logger): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ operationName, operation, errors, response }) {
          const codes = (errors ?? [])
            .map((e) => e.extensions?.code)
            .filter((c): c is string => typeof c === 'string');
          const body = response.body;
          const resultErrors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
          const outcome = (errors?.length ?? 0) > 0 || resultErrors.length > 0 ? 'error' : 'ok';
          logger.info(
            {
              operationName: operationName ?? null,
              operationType: operation?.operation ?? null,
              durationMs: Math.round(performance.now() - startedAt),
              outcome,
              ...(outcome === 'error' ? { errorCodes: [...new Set([...codes, ...resultErrors.map((e) => String(e.extensions?.code ?? ''))])] } : {}),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}
