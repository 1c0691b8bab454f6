import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { AppError } from '../lib/app-error.js';
import type { Logger } from '../lib/logger.js';
import { tokenLimitRefusal } from './limits.js';

/** Codes Apollo and graphql-js produce for malformed requests; passed through as they are. */
const CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'QUERY_TOO_COMPLEX',
]);

function originalOf(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError && current.originalError !== current) current = current.originalError;
  return current;
}

/** The path of the bad variable in graphql-js coercion messages, e.g. `input.role`, with list indexes as segments (`inputs.0.action`). */
function variableField(message: string): string | undefined {
  const match = /^Variable "\$([^"]+)" (?:got invalid value .*?(?:; |$)|of (?:required|non-null) type )/s.exec(message);
  if (!match) return undefined;
  // The value is printed with escaped quotes, so a quoted path right after ` at ` can only be graphql-js's own.
  const at = / at "([A-Za-z_][\w.[\]]*)"(?:;|$)/.exec(message);
  return (at ? at[1]! : match[1]!).replace(/\[(\d+)\]/g, '.$1');
}

/**
 * Shapes every error a client sees: AppError keeps its code (and field), request errors keep
 * theirs, and anything else is logged in full and returned as INTERNAL_SERVER_ERROR with no internals.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = originalOf(error);
    if (original instanceof AppError) {
      return {
        message: original.message,
        ...(formatted.path ? { path: formatted.path } : {}),
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
      };
    }
    const overTokens = tokenLimitRefusal(formatted);
    if (overTokens) return overTokens;
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      const field = code === 'BAD_USER_INPUT' ? variableField(formatted.message) : undefined;
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: { ...extensions, ...(field ? { field } : {}) } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL operation');
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
