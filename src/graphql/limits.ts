import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  getOperationAST,
  isListType,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { AppError } from '../lib/app-error.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../lib/paging.js';

/**
 * The limits every GraphQL operation (HTTP and graphql-ws) must stay within; anything over is
 * refused with `extensions.code: "QUERY_TOO_COMPLEX"` (HTTP 400) before any resolver runs.
 */
export const QUERY_LIMITS = {
  /** Nesting of fields; introspection (`__schema`) is exempt, as graphql-armor does by default. */
  maxDepth: 10,
  /** Aliased fields in one operation, fragments included (`__typename` aliases are free). */
  maxAliases: 30,
  /** Top-level fields of one operation. */
  maxRootFields: 20,
  /** Lexer tokens of the whole document, enforced while parsing. */
  maxTokens: 5_000,
  /** Estimated cost (see `estimateCost`): a field costs 1 plus its selection, times `first` for paged fields. */
  maxCost: 100_000,
  /** Sum of `first` over every paged field of one operation (a missing `first` counts as the default page size). */
  maxFirstSum: 2_000,
  /** Selections visited while costing, fragments expanded; bounds the cost walk itself. */
  maxExpandedSelections: 10_000,
} as const;

/** Estimated rows of list fields that have no `first` argument (bounded by configuration, not by the client). */
const LIST_SIZE_ESTIMATES: Readonly<Record<string, number>> = {
  'Delivery.attempts': 4, // the first attempt and three retries by default
  'Delivery.events': 100, // AUDITHOOK_MAX_BATCH_SIZE's default
  'Query.apiTokens': 20,
  'DeliveryAttempt.requestHeaders': 6, // content-type, user-agent, the three webhook-* headers, authorization
};

/** Scalar fields that load as much as a list: Delivery.payload is built from all the delivery's events. */
const SCALAR_COST_ESTIMATES: Readonly<Record<string, number>> = {
  'Delivery.payload': 100, // as Delivery.events: AUDITHOOK_MAX_BATCH_SIZE's default
};

/** The one error every refusal is: an AppError code, and HTTP 400 for Apollo. */
function tooComplex(message: string, nodes?: GraphQLError['nodes']): GraphQLError {
  return new GraphQLError(message, {
    ...(nodes ? { nodes } : {}),
    originalError: new AppError('QUERY_TOO_COMPLEX', message),
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });
}

/** graphql-armor's callbacks: report our error instead of throwing theirs (their message names the limit). */
const armorCallbacks = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(tooComplex(error.message.replace(/^Syntax Error: /, '')))],
};

function countRootFields(selectionSet: SelectionSetNode, context: ValidationContext, seenFragments: Set<string>): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') count += 1;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += countRootFields(selection.selectionSet, context, seenFragments);
    } else if (!seenFragments.has(selection.name.value)) {
      // A fragment spread twice adds its fields once, as execution merges them.
      seenFragments.add(selection.name.value);
      const fragment = context.getFragment(selection.name.value);
      if (fragment) count += countRootFields(fragment.selectionSet, context, seenFragments);
    }
  }
  return count;
}

/** Root fields ≤ max, fragments at the root included; graphql-armor has no such rule, so it is ours. */
function maxRootFieldsRule(max: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const count = countRootFields(operation.selectionSet, context, new Set());
      if (count > max) context.reportError(tooComplex(`Root fields limit of ${max} exceeded, found ${count}.`, [operation]));
    },
  });
}

/** The limits that need no variables, as validation rules (added to graphql-js's standard ones). */
export const limitValidationRules: ValidationRule[] = [
  maxDepthRule({ n: QUERY_LIMITS.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...armorCallbacks }),
  maxAliasesRule({ n: QUERY_LIMITS.maxAliases, ...armorCallbacks }),
  maxRootFieldsRule(QUERY_LIMITS.maxRootFields),
];

/** Options for graphql-js `parse`: stops lexing past the token limit, so a huge document costs little. */
export const limitParseOptions = { maxTokens: QUERY_LIMITS.maxTokens } as const;

// graphql-js 16 spells it "more that N tokens"; accept the corrected spelling too.
const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more th(?:at|an) \d+ tokens/;
const tokenLimitMessage = `Token limit of ${QUERY_LIMITS.maxTokens} exceeded: the document has more than ${QUERY_LIMITS.maxTokens} tokens.`;

/** The client's view of graphql-js's token-limit parse error (Apollo reports it as GRAPHQL_PARSE_FAILED); null for others. */
export function tokenLimitRefusal(formatted: GraphQLFormattedError): GraphQLFormattedError | null {
  if (formatted.extensions?.code !== 'GRAPHQL_PARSE_FAILED' || !TOKEN_LIMIT_MESSAGE.test(formatted.message)) return null;
  return { message: tokenLimitMessage, extensions: { code: 'QUERY_TOO_COMPLEX' } };
}

/** A paged field's `first` as the resolver will take it: the default when absent, clamped to what it accepts. */
function pageSizeOf(first: unknown): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  // Out-of-range values stay the resolver's BAD_USER_INPUT; here they weigh as the largest page.
  return typeof first === 'number' && Number.isFinite(first) ? Math.min(Math.max(Math.trunc(first), 0), MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
}

/**
 * Costs one operation with its variables: every field costs 1 plus its selection; a field with a
 * `first` argument multiplies its selection by `first`, other lists by their estimated size.
 * Returns the refusal, or null when the operation is within maxCost and maxFirstSum.
 */
export function checkOperationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined): GraphQLError | null {
  let firstSum = 0;
  const estimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
    if (field.args.some((arg) => arg.name === 'first')) {
      const first = pageSizeOf(args.first);
      firstSum += first;
      return 1 + first * childComplexity;
    }
    if (isListType(getNullableType(field.type))) {
      const estimate = LIST_SIZE_ESTIMATES[`${getNamedType(type).name}.${field.name}`] ?? 1;
      return 1 + estimate * childComplexity;
    }
    return (SCALAR_COST_ESTIMATES[`${getNamedType(type).name}.${field.name}`] ?? 1) + childComplexity;
  };
  // Only the chosen operation and the fragments: other operations of the document do not run.
  const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)] };
  let cost: number;
  try {
    cost = getComplexity({ schema, query: single, variables: variables ?? {}, estimators: [estimator], maxQueryNodes: QUERY_LIMITS.maxExpandedSelections });
  } catch (error) {
    if (error instanceof GraphQLError && /maximum allowed number of nodes/.test(error.message)) {
      return tooComplex(`Selection limit of ${QUERY_LIMITS.maxExpandedSelections} exceeded once fragments are expanded.`);
    }
    // Bad variables: execution refuses them (BAD_USER_INPUT) before any resolver runs.
    return null;
  }
  if (firstSum > QUERY_LIMITS.maxFirstSum) {
    return tooComplex(`Limit on the sum of \`first\` of ${QUERY_LIMITS.maxFirstSum} exceeded, found ${firstSum}.`);
  }
  if (cost > QUERY_LIMITS.maxCost) {
    return tooComplex(`Cost limit of ${QUERY_LIMITS.maxCost} exceeded, found ${cost} (each field costs 1 plus its selection, paged fields times their \`first\`).`);
  }
  return null;
}

/** Apollo plugin: the variable-dependent limits (cost, sum of `first`), after validation and before execution. */
export function queryCostPlugin<Context extends object>(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          const refusal = operation ? checkOperationCost(schema, document, operation, request.variables) : null;
          if (refusal) throw refusal;
        },
      };
    },
  };
}

/** graphql-js's parse and validation errors carry no code; give them Apollo's, as over HTTP. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}

/**
 * graphql-ws `onSubscribe`: the same parse, validation and limits as over HTTP (graphql-ws has no
 * Apollo pipeline). Returns the errors to send, or the execution arguments (context is added by graphql-ws).
 */
export function limitedWsOperation(schema: GraphQLSchema, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }): ExecutionArgs | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(payload.query, limitParseOptions);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    return [TOKEN_LIMIT_MESSAGE.test(error.message) ? tooComplex(tokenLimitMessage) : withCode(error, 'GRAPHQL_PARSE_FAILED')];
  }
  const errors = validate(schema, document, [...specifiedRules, ...limitValidationRules]);
  if (errors.length > 0) return errors.map((error) => (error.originalError instanceof AppError ? error : withCode(error, 'GRAPHQL_VALIDATION_FAILED')));
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) return [new GraphQLError('Unable to identify operation')];
  const refusal = checkOperationCost(schema, document, operation, payload.variables);
  if (refusal) return [refusal];
  return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null };
}
