import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSigningSecret, isSigningSecret, signatureHeaders, signWebhook } from '../../src/delivery/signing.js';

const nowSec = (): number => Math.floor(Date.now() / 1000);

function verify(secret: string, body: string, headers: Record<string, string>): unknown {
  return new Webhook(secret).verify(body, headers);
}

describe('generateSigningSecret / isSigningSecret', () => {
  it('generates whsec_ + base64 of 32 random bytes, different every time', () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(isSigningSecret(secret)).toBe(true);
    expect(generateSigningSecret()).not.toBe(secret);
  });

  it.each([
    ['', 'empty'],
    ['whsec_', 'no key'],
    [Buffer.alloc(32, 1).toString('base64'), 'missing prefix'],
    [`whsec_${Buffer.alloc(16, 1).toString('base64')}`, 'too short (16 bytes)'],
    [`whsec_${Buffer.alloc(65, 1).toString('base64')}`, 'too long (65 bytes)'],
    [`whsec_${Buffer.alloc(32, 1).toString('base64').replace(/=$/, '')}`, 'missing padding'],
    [`whsec_${Buffer.alloc(32, 1).toString('base64url')}`, 'base64url alphabet'],
    [`whsec_${Buffer.alloc(32, 1).toString('base64')} `, 'trailing space'],
    ['whsec_not base64 at all!!', 'garbage'],
  ])('rejects %j (%s)', (value) => {
    expect(isSigningSecret(value)).toBe(false);
  });

  it('accepts 24..64 byte keys', () => {
    expect(isSigningSecret(`whsec_${Buffer.alloc(24, 7).toString('base64')}`)).toBe(true);
    expect(isSigningSecret(`whsec_${Buffer.alloc(64, 7).toString('base64')}`)).toBe(true);
  });
});

describe('signWebhook', () => {
  const body = JSON.stringify({ type: 'audit_event.created', data: { id: 'evt_1', note: 'naïve ünïcode ✓' } });

  it('produces a signature the standardwebhooks package verifies', () => {
    const secret = generateSigningSecret();
    const input = { webhookId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', timestampSec: nowSec(), body, secrets: [secret] };
    const signature = signWebhook(input);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(
      verify(secret, body, { 'webhook-id': input.webhookId, 'webhook-timestamp': String(input.timestampSec), 'webhook-signature': signature }),
    ).toEqual(JSON.parse(body));
  });

  it('matches the Standard Webhooks reference computation', () => {
    const key = Buffer.alloc(32, 0xab);
    const secret = `whsec_${key.toString('base64')}`;
    const expected = createHmac('sha256', key).update(`msg_1.1700000000.${body}`).digest('base64');
    expect(signWebhook({ webhookId: 'msg_1', timestampSec: 1_700_000_000, body, secrets: [secret] })).toBe(`v1,${expected}`);
    expect(new Webhook(secret).sign('msg_1', new Date(1_700_000_000_000), body)).toBe(`v1,${expected}`);
  });

  it('during a rotation, signs with every secret and each one alone verifies', () => {
    const oldSecret = generateSigningSecret();
    const newSecret = generateSigningSecret();
    const headers = signatureHeaders({ webhookId: 'msg_rotate', timestampSec: nowSec(), body, secrets: [newSecret, oldSecret] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(oldSecret, body, headers)).toEqual(JSON.parse(body));
    expect(verify(newSecret, body, headers)).toEqual(JSON.parse(body));
    expect(() => verify(generateSigningSecret(), body, headers)).toThrow(/No matching signature/);

    // Signed with only one secret, only that secret verifies.
    const onlyNew = signatureHeaders({ webhookId: 'msg_rotate', timestampSec: nowSec(), body, secrets: [newSecret] });
    expect(verify(newSecret, body, onlyNew)).toEqual(JSON.parse(body));
    expect(() => verify(oldSecret, body, onlyNew)).toThrow(/No matching signature/);
  });

  it('binds id, timestamp and body', () => {
    const secret = generateSigningSecret();
    const headers = signatureHeaders({ webhookId: 'msg_a', timestampSec: nowSec(), body, secrets: [secret] });
    expect(() => verify(secret, body.replace('evt_1', 'evt_2'), headers)).toThrow();
    expect(() => verify(secret, body, { ...headers, 'webhook-id': 'msg_b' })).toThrow();
    expect(() => verify(secret, body, { ...headers, 'webhook-timestamp': String(nowSec() + 1) })).toThrow();
  });

  it('throws (without leaking the secret) for unusable input instead of sending unsigned', () => {
    const base = { webhookId: 'msg_x', timestampSec: nowSec(), body };
    expect(() => signWebhook({ ...base, secrets: [] })).toThrow(TypeError);
    expect(() => signWebhook({ ...base, secrets: ['whsec_short'] })).toThrow(/secret #1 is not a valid/);
    expect(() => signWebhook({ ...base, secrets: ['whsec_short'] })).not.toThrow(/whsec_short/);
    expect(() => signWebhook({ ...base, timestampSec: 1.5, secrets: [generateSigningSecret()] })).toThrow(TypeError);
  });
});
