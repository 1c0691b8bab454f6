import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const RECORD = `mutation($org: ID!, $input: AuditEventInput!) {
  recordAuditEvent(organizationId: $org, input: $input) {
    id organizationId time action receivedAt message
    actor { id type name email }
    context { id type name attributes }
    container { id type name attributes }
    location { ip geo countryName regionName city }
  }
}`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id action } }`;
const LIST = `query($org: ID!, $filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(organizationId: $org, filter: $filter, first: $first, after: $after) { edges { cursor node { id action time actor { id } } } pageInfo { hasNextPage endCursor } }
}`;

describe('recordAuditEvent', () => {
  it('stores an event with every field and reads it back', async () => {
    const input = {
      action: 'user_added_to_group',
      time: '2026-11-20T10:00:00.000Z',
      actor: { id: 'u-1', type: 'user', name: 'Ada', email: 'ada@example.com' },
      context: [{ id: 'g-1', type: 'group', name: 'admins', attributes: { size: 3, nested: { ok: true } } }],
      container: [{ id: 'site-1', type: 'site' }],
      location: { ip: '2001:db8::1', geo: '51.5,-0.1', countryName: 'United Kingdom', regionName: 'England', city: 'London' },
      message: 'Ada added to admins',
    };
    const result = await server.gql(RECORD, { org: server.orgId, input });
    expect(result.errors).toBeUndefined();
    const event = result.data!.recordAuditEvent;
    expect(event.id).toMatch(/^evt_/);
    expect(event).toMatchObject({ ...input, organizationId: server.orgId, container: [{ id: 'site-1', type: 'site', name: null, attributes: null }] });
    const read = await server.gql(`query($org: ID!, $id: ID!) { auditEvent(organizationId: $org, id: $id) { id action message location { city } } }`, { org: server.orgId, id: event.id });
    expect(read.data?.auditEvent).toEqual({ id: event.id, action: input.action, message: input.message, location: { city: 'London' } });
  });

  it('defaults time to when it was recorded', async () => {
    const before = Date.now();
    const result = await server.gql(RECORD, { org: server.orgId, input: { action: 'user_logged_in', actor: { id: 'u-2' } } });
    const time = Date.parse(result.data!.recordAuditEvent.time);
    expect(time).toBeGreaterThanOrEqual(before - 5);
    expect(time).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('returns the first event for a repeated idempotency key', async () => {
    const input = { action: 'user_logged_in', actor: { id: 'u-3' }, idempotencyKey: 'login-42' };
    const first = await server.gql(RECORD, { org: server.orgId, input });
    const second = await server.gql(RECORD, { org: server.orgId, input: { ...input, message: 'different' } });
    expect(second.data!.recordAuditEvent.id).toBe(first.data!.recordAuditEvent.id);
    expect(second.data!.recordAuditEvent.message).toBeNull();
    const other = await server.createOrg('Other');
    const elsewhere = await server.gql(RECORD, { org: other.orgId, input }, other.adminToken);
    expect(elsewhere.data!.recordAuditEvent.id).not.toBe(first.data!.recordAuditEvent.id);
  });

  it.each([
    ['a camelCase action', { action: 'userLoggedIn', actor: { id: 'u' } }, 'input.action'],
    ['an action with a double underscore', { action: 'user__in', actor: { id: 'u' } }, 'input.action'],
    ['an action over 128 characters', { action: 'a'.repeat(129), actor: { id: 'u' } }, 'input.action'],
    ['an empty actor id', { action: 'x_y', actor: { id: '' } }, 'input.actor.id'],
    ['a location ip that is not an IP', { action: 'x_y', actor: { id: 'u' }, location: { ip: '999.1.1.1' } }, 'input.location.ip'],
    ['a context object without id', { action: 'x_y', actor: { id: 'u' }, context: [{ id: ' ', type: 'page' }] }, 'input.context.0.id'],
    ['an event over 64 KiB', { action: 'x_y', actor: { id: 'u' }, message: 'm'.repeat(64 * 1024) }, 'input'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_name, input, field) => {
    const result = await server.gql(RECORD, { org: server.orgId, input });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
  });
});

describe('recordAuditEvents', () => {
  it('records a batch, all in order', async () => {
    const inputs = Array.from({ length: 25 }, (_, i) => ({ action: 'page_viewed', actor: { id: `batch-${i}` } }));
    const result = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
    expect(result.data!.recordAuditEvents).toHaveLength(25);
    expect(new Set(result.data!.recordAuditEvents.map((e: { id: string }) => e.id)).size).toBe(25);
  });

  it('stores nothing when one event of the batch is bad', async () => {
    const inputs = [
      { action: 'batch_probe', actor: { id: 'ok-1' } },
      { action: 'batch_probe', actor: { id: 'ok-2' } },
      { action: 'Not Snake', actor: { id: 'bad' } },
    ];
    const result = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'inputs.2.action' });
    const listed = await server.gql(LIST, { org: server.orgId, filter: { action: 'batch_probe' } });
    expect(listed.data!.auditEvents.edges).toEqual([]);
  });

  it('refuses more than 1000 events', async () => {
    const inputs = Array.from({ length: 1001 }, () => ({ action: 'x_y', actor: { id: 'u' } }));
    const result = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions?.field).toBe('inputs');
  });

  it('de-duplicates idempotency keys within one batch', async () => {
    const inputs = [
      { action: 'x_y', actor: { id: 'u' }, idempotencyKey: 'same-in-batch' },
      { action: 'x_y', actor: { id: 'u' }, idempotencyKey: 'same-in-batch' },
    ];
    const result = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
    expect(result.data!.recordAuditEvents[0].id).toBe(result.data!.recordAuditEvents[1].id);
  });
});

describe('auditEvents', () => {
  it('filters by action, actor and time range and pages newest first with stable cursors', async () => {
    const other = await server.createOrg('Paging');
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const inputs = Array.from({ length: 12 }, (_, i) => ({
      action: i % 2 === 0 ? 'even_thing' : 'odd_thing',
      actor: { id: i < 6 ? 'alice' : 'bob' },
      // pairs share a timestamp so the id tie-break matters
      time: new Date(base + Math.floor(i / 2) * 60_000).toISOString(),
    }));
    await server.gql(RECORD_MANY, { org: other.orgId, inputs }, other.adminToken);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: any = await server.gql(LIST, { org: other.orgId, first: 5, after }, other.adminToken);
      expect(page.errors).toBeUndefined();
      seen.push(...page.data.auditEvents.edges.map((e: any) => e.node.id));
      after = page.data.auditEvents.pageInfo.hasNextPage ? page.data.auditEvents.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(12);
    const all = await server.gql(LIST, { org: other.orgId, first: 500 }, other.adminToken);
    const nodes = all.data!.auditEvents.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.id)).toEqual(seen);
    for (let i = 1; i < nodes.length; i++) {
      const [a, b] = [nodes[i - 1], nodes[i]];
      expect(a.time > b.time || (a.time === b.time && a.id > b.id)).toBe(true);
    }
    const even = await server.gql(LIST, { org: other.orgId, filter: { action: 'even_thing' } }, other.adminToken);
    expect(even.data!.auditEvents.edges).toHaveLength(6);
    const bob = await server.gql(LIST, { org: other.orgId, filter: { actorId: 'bob', action: 'odd_thing' } }, other.adminToken);
    expect(bob.data!.auditEvents.edges).toHaveLength(3);
    const ranged = await server.gql(
      LIST,
      { org: other.orgId, filter: { from: new Date(base + 60_000).toISOString(), to: new Date(base + 2 * 60_000).toISOString() } },
      other.adminToken,
    );
    expect(ranged.data!.auditEvents.edges).toHaveLength(4);
  });

  it('refuses a malformed cursor and an out-of-range page size', async () => {
    const bad = await server.gql(LIST, { org: server.orgId, after: 'not-a-cursor' });
    expect(bad.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    const big = await server.gql(LIST, { org: server.orgId, first: 501 });
    expect(big.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('defaults to 50 per page', async () => {
    const other = await server.createOrg('Many');
    await server.gql(RECORD_MANY, { org: other.orgId, inputs: Array.from({ length: 60 }, () => ({ action: 'x_y', actor: { id: 'u' } })) }, other.adminToken);
    const page = await server.gql(LIST, { org: other.orgId }, other.adminToken);
    expect(page.data!.auditEvents.edges).toHaveLength(50);
    expect(page.data!.auditEvents.pageInfo.hasNextPage).toBe(true);
  });
});
