import { describe, expect, it } from 'vitest';
import { generateSigningSecret, signWebhook, verifySignature } from '../../src/delivery/signing.js';

describe('verifySignature (what audithook receive checks)', () => {
  const body = Buffer.from('{"data":[]}');
  const nowSec = 1_800_000_000;
  const request = (secrets: string[], timestampSec = nowSec) => ({
    webhookId: 'dlv_1',
    timestamp: String(timestampSec),
    signature: signWebhook({ webhookId: 'dlv_1', timestampSec, body: body.toString(), secrets }),
    body,
    nowSec,
  });

  it('accepts any one matching signature of a rotation and refuses a wrong secret, a stale or future timestamp and missing headers', () => {
    const current = generateSigningSecret();
    const previous = generateSigningSecret();
    expect(verifySignature({ ...request([current, previous]), secret: previous })).toEqual({ ok: true });
    expect(verifySignature({ ...request([current]), secret: previous })).toMatchObject({ ok: false, reason: expect.stringMatching(/no webhook-signature matches/) });
    expect(verifySignature({ ...request([current], nowSec - 301), secret: current })).toMatchObject({ ok: false, reason: expect.stringMatching(/more than 300 s/) });
    expect(verifySignature({ ...request([current], nowSec + 301), secret: current })).toMatchObject({ ok: false });
    expect(verifySignature({ ...request([current], nowSec - 300), secret: current })).toEqual({ ok: true });
    expect(verifySignature({ ...request([current]), signature: undefined, secret: current })).toEqual({ ok: false, reason: 'missing webhook-signature header' });
    expect(verifySignature({ ...request([current]), webhookId: 'dlv_2', secret: current })).toMatchObject({ ok: false });
    expect(() => verifySignature({ ...request([current]), secret: 'whsec_short' })).toThrow(TypeError);
  });
});
