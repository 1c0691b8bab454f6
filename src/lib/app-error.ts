/** Every error code a client may see in `extensions.code`; anything else is masked as INTERNAL_SERVER_ERROR. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'WEBHOOK_ALREADY_REGISTERED'
  | 'DESTINATION_NOT_ALLOWED'
  | 'CONFLICT'
  | 'TOO_MANY_SUBSCRIPTIONS'
  /** Over a query limit (depth, aliases, root fields, tokens, cost, sum of `first`): see src/graphql/limits.ts. */
  | 'QUERY_TOO_COMPLEX';

/** The one error class services throw for expected failures; the GraphQL layer passes its code and field through. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The path of the offending input, e.g. `input.url`, for BAD_USER_INPUT and DESTINATION_NOT_ALLOWED. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Shorthand for the most common failure: a bad value at a named input path. */
export function badInput(field: string, message: string): AppError {
  return new AppError('BAD_USER_INPUT', message, field);
}
