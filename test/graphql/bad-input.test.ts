import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GqlResult, type TestServer } from '../support/server.js';
import { healthStatus, nestedJsonText, nestedLiteralText, postRaw, storeSnapshot } from '../support/store.js';

// The findings of the hardening issue, one example each: every one used to end as INTERNAL_SERVER_ERROR
// (or, for the lone surrogate, as an acknowledged event stored differently).
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { deliver: false });
});
afterAll(async () => {
  await server?.stop();
});

const RECORD = `mutation($org: ID!, $input: AuditEventInput!) {
  recordAuditEvent(organizationId: $org, input: $input) { id message actor { id name } context { id type attributes } }
}`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const EVENTS = `query($org: ID!, $filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(organizationId: $org, filter: $filter, first: $first, after: $after) { edges { node { id } } pageInfo { endCursor hasNextPage } }
}`;
const DELIVERIES = `query($org: ID!, $after: String) { deliveries(organizationId: $org, after: $after) { edges { node { id } } } }`;
/** The cursor from the issue: [8640000000000001, "evt_x"], one millisecond past the last JavaScript date. */
const ISSUE_CURSOR = 'Wzg2NDAwMDAwMDAwMDAwMDEsImV2dF94Il0';

function refusal(result: GqlResult): { code?: string; field?: string } {
  expect(result.errors, JSON.stringify(result)).toHaveLength(1);
  return result.errors![0]!.extensions ?? {};
}

/** Runs `call`, expects BAD_USER_INPUT on `field` and no change to anything stored. */
async function expectRefused(call: () => Promise<GqlResult>, field: string | undefined): Promise<void> {
  const before = await storeSnapshot(server.app);
  const result = await call();
  expect(result.status).not.toBe(500);
  expect(refusal(result)).toEqual({ code: 'BAD_USER_INPUT', ...(field ? { field } : {}) });
  expect(await storeSnapshot(server.app)).toBe(before);
}

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

describe('cursors', () => {
  it('refuses the cursor from the issue (a time outside the JavaScript date range) on `after`, in both listings', async () => {
    await expectRefused(() => server.gql(EVENTS, { org: server.orgId, after: ISSUE_CURSOR }), 'after');
    await expectRefused(() => server.gql(DELIVERIES, { org: server.orgId, after: ISSUE_CURSOR }), 'after');
  });

  it('refuses cursors with a foreign or malformed id, a fractional or huge time, or a non-canonical encoding; a real endCursor still pages', async () => {
    for (let i = 0; i < 3; i++) await server.gql(RECORD, { org: server.orgId, input: { action: 'cursor_probe', actor: { id: `u-${i}` } } });
    const firstPage = await server.gql(EVENTS, { org: server.orgId, first: 2, filter: { action: 'cursor_probe' } });
    const endCursor: string = firstPage.data!.auditEvents.pageInfo.endCursor;
    const [timeMs, id] = JSON.parse(Buffer.from(endCursor, 'base64url').toString('utf8')) as [number, string];
    for (const bad of [
      cursorOf([timeMs, 'dlv_' + id.slice(4)]),
      cursorOf([timeMs, `${id}\u0000`]),
      cursorOf([timeMs + 0.5, id]),
      cursorOf([-8_640_000_000_000_000, id]),
      cursorOf([timeMs, id, 1]),
      endCursor + '=',
      'x'.repeat(10_000),
    ]) {
      await expectRefused(() => server.gql(EVENTS, { org: server.orgId, after: bad }), 'after');
    }
    const next = await server.gql(EVENTS, { org: server.orgId, first: 2, filter: { action: 'cursor_probe' }, after: endCursor });
    expect(next.errors).toBeUndefined();
    expect(next.data!.auditEvents.edges).toHaveLength(1);
  });
});

describe('JSON nesting', () => {
  const rawRecord = (attributes: string) =>
    `{"query":${JSON.stringify(RECORD)},"variables":{"org":"${server.orgId}","input":{"action":"deep_probe","actor":{"id":"u"},"context":[{"id":"c","type":"t","attributes":${attributes}}]}}}`;
  const inlineRecord = (attributes: string) =>
    JSON.stringify({
      query: `mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: {action: "deep_probe", actor: {id: "u"}, context: [{id: "c", type: "t", attributes: ${attributes}}]}) { id } }`,
      variables: { org: server.orgId },
    });

  it('refuses attributes nested 4,400 deep sent as a variable, on the attributes path, storing nothing', async () => {
    await expectRefused(() => postRaw(server, rawRecord(nestedJsonText(4_400))), 'input.context.0.attributes');
  });

  it('refuses attributes nested 4,400 deep written inline, before parsing, storing nothing', async () => {
    await expectRefused(() => postRaw(server, inlineRecord(nestedLiteralText(4_400))), undefined);
    expect(await healthStatus(server)).toBe(200);
  });

  it('accepts 32 levels and refuses 33, inline and as a variable', async () => {
    for (const call of [() => postRaw(server, rawRecord(nestedJsonText(32))), () => postRaw(server, inlineRecord(nestedLiteralText(32)))]) {
      const accepted = await call();
      expect(accepted.errors, JSON.stringify(accepted.errors)).toBeUndefined();
    }
    await expectRefused(() => postRaw(server, rawRecord(nestedJsonText(33))), 'input.context.0.attributes');
    await expectRefused(() => postRaw(server, inlineRecord(nestedLiteralText(33))), 'input.context.0.attributes');
    await expectRefused(() => postRaw(server, rawRecord(`{"list":${'['.repeat(40)}${']'.repeat(40)}}`)), 'input.context.0.attributes');
  });
});

describe('NUL (U+0000)', () => {
  const event = { action: 'nul_probe', actor: { id: 'u-1' } };
  it.each([
    ['message', { ...event, message: 'a\u0000b' }, 'input.message'],
    ['actor.id', { ...event, actor: { id: 'u\u0000' } }, 'input.actor.id'],
    ['idempotencyKey', { ...event, idempotencyKey: 'key\u0000' }, 'input.idempotencyKey'],
    ['an attributes value', { ...event, context: [{ id: 'c', type: 't', attributes: { note: 'x\u0000' } }] }, 'input.context.0.attributes.note'],
    ['an attributes key', { ...event, context: [{ id: 'c', type: 't', attributes: { 'k\u0000': 1 } }] }, 'input.context.0.attributes'],
  ])('in %s is BAD_USER_INPUT on its path and stores nothing', async (_name, input, field) => {
    await expectRefused(() => server.gql(RECORD, { org: server.orgId, input }), field);
  });

  it('in filters is BAD_USER_INPUT on filter.action and filter.actorId', async () => {
    await expectRefused(() => server.gql(EVENTS, { org: server.orgId, filter: { action: 'a\u0000' } }), 'filter.action');
    await expectRefused(() => server.gql(EVENTS, { org: server.orgId, filter: { actorId: 'u\u0000' } }), 'filter.actorId');
  });

  it('in ids is BAD_USER_INPUT on the id; other malformed ids are simply not found', async () => {
    const byId = (operation: string) => `query($org: ID!, $id: ID!) { ${operation}(organizationId: $org, id: $id) { id } }`;
    const revoke = `mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`;
    const redeliver = `mutation($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { id } }`;
    await expectRefused(() => server.gql(byId('auditEvent'), { org: server.orgId, id: 'evt_\u0000' }), 'id');
    await expectRefused(() => server.gql(byId('delivery'), { org: server.orgId, id: 'dlv_\u0000' }), 'id');
    await expectRefused(() => server.gql(revoke, { org: server.orgId, id: 'tok_\u0000' }), 'id');
    await expectRefused(() => server.gql(redeliver, { org: server.orgId, id: 'dlv_\u0000' }), 'deliveryId');
    for (const id of ['evt_', 'dlv_01m87yta5t52gqwq5hy8dv5jvm', 'evt_01M87YTA5T52GQWQ5HY8DV5JVM', "evt_' or 1=1 --", 'evt_' + 'a'.repeat(100_000)]) {
      const before = await storeSnapshot(server.app);
      expect((await server.gql(byId('auditEvent'), { org: server.orgId, id })).data).toEqual({ auditEvent: null });
      expect((await server.gql(byId('delivery'), { org: server.orgId, id })).data).toEqual({ delivery: null });
      expect(refusal(await server.gql(revoke, { org: server.orgId, id }))).toEqual({ code: 'NOT_FOUND', field: 'id' });
      expect(refusal(await server.gql(redeliver, { org: server.orgId, id }))).toEqual({ code: 'NOT_FOUND', field: 'deliveryId' });
      expect(await storeSnapshot(server.app)).toBe(before);
    }
  });
});

describe('lone surrogates', () => {
  it('"x\\ud800y" in message is refused with input.message and nothing stored; well-formed astral text round-trips unchanged', async () => {
    await expectRefused(() => server.gql(RECORD, { org: server.orgId, input: { action: 'surrogate_probe', actor: { id: 'u' }, message: 'x\ud800y' } }), 'input.message');
    await expectRefused(() => server.gql(RECORD, { org: server.orgId, input: { action: 'surrogate_probe', actor: { id: 'u', name: '\udfff' } } }), 'input.actor.name');
    const message = 'x\ud83d\ude00y \u00e9\u0301 \u{10ffff}';
    const recorded = await server.gql(RECORD, { org: server.orgId, input: { action: 'surrogate_probe', actor: { id: 'u' }, message } });
    expect(recorded.data!.recordAuditEvent.message).toBe(message);
    const read = await server.gql(`query($org: ID!, $id: ID!) { auditEvent(organizationId: $org, id: $id) { message } }`, { org: server.orgId, id: recorded.data!.recordAuditEvent.id });
    expect(read.data!.auditEvent.message).toBe(message);
  });

  it('anywhere in a recordAuditEvents batch names its input and stores none of the batch', async () => {
    const inputs = [
      { action: 'batch_probe', actor: { id: 'u-1' } },
      { action: 'batch_probe', actor: { id: 'u-2' }, context: [{ id: 'c', type: 't', attributes: { list: ['ok', 'bad\ud800'] } }] },
    ];
    await expectRefused(() => server.gql(RECORD_MANY, { org: server.orgId, inputs }), 'inputs.1.context.0.attributes.list.1');
    await expectRefused(() => server.gql(RECORD_MANY, { org: server.orgId, inputs: [inputs[0], { ...inputs[0], idempotencyKey: '\udc00' }] }), 'inputs.1.idempotencyKey');
  });

  it('in a webhook URL, credentials or token label is refused on its path', async () => {
    const register = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
    await expectRefused(() => server.gql(register, { org: server.orgId, input: { url: 'http://127.0.0.1:9/\ud800' } }), 'input.url');
    await expectRefused(
      () => server.gql(register, { org: server.orgId, input: { url: 'http://127.0.0.1:9/hook', authorization: { basic: { username: 'u', password: 'p\ud800' } } } }),
      'input.authorization.basic.password',
    );
    const create = `mutation($org: ID!, $input: CreateApiTokenInput!) { createApiToken(organizationId: $org, input: $input) { token } }`;
    await expectRefused(() => server.gql(create, { org: server.orgId, input: { role: 'INGEST', label: 'ci\udbff' } }), 'input.label');
    expect(await healthStatus(server)).toBe(200);
  });
});

describe('times outside years 0001-9999', () => {
  // DateTimeISO parses year 0000, which PostgreSQL does not have: found by the property test on PostgreSQL.
  it.each([
    ['an audit-log filter from year 0000', () => server.gql(EVENTS, { org: server.orgId, filter: { from: '0000-12-31T23:59:59.999Z' } }), 'filter.from'],
    ['an audit-log filter to year 0000', () => server.gql(EVENTS, { org: server.orgId, filter: { to: '0000-06-01T00:00:00Z' } }), 'filter.to'],
    ['an event time in year 0000', () => server.gql(RECORD, { org: server.orgId, input: { action: 'time_probe', actor: { id: 'u' }, time: '0000-01-01T00:00:00Z' } }), 'input.time'],
  ])('refuses %s with BAD_USER_INPUT on the field, nothing stored', async (_name, call, field) => {
    await expectRefused(call, field);
  });

  it('accepts the first instant of year 0001', async () => {
    const result = await server.gql(EVENTS, { org: server.orgId, filter: { from: '0001-01-01T00:00:00Z' } });
    expect(result.errors).toBeUndefined();
  });
});
