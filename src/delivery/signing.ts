// Standard Webhooks signatures (https://www.standardwebhooks.com), so receivers can use any
// off-the-shelf verifier. During a secret rotation we sign with every active secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of a Standard Webhooks symmetric secret. */
export const SIGNING_SECRET_PREFIX = 'whsec_';

/** Bytes of randomness in secrets we generate (the spec asks for 24–64). */
export const SIGNING_SECRET_BYTES = 32;

const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** Creates a new secret for a webhook: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return SIGNING_SECRET_PREFIX + randomBytes(SIGNING_SECRET_BYTES).toString('base64');
}

function decodeSecret(value: string): Buffer | null {
  if (typeof value !== 'string' || !value.startsWith(SIGNING_SECRET_PREFIX)) return null;
  const encoded = value.slice(SIGNING_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  // Round-trip to reject non-canonical base64 (bad padding / stray bits).
  if (key.toString('base64') !== encoded) return null;
  return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : null;
}

/** Whether a string is a well-formed secret (`whsec_` + canonical base64 of 24–64 bytes); for validating stored or imported secrets. */
export function isSigningSecret(value: string): boolean {
  return decodeSecret(value) !== null;
}

/** What gets signed for one delivery attempt. */
export interface SignWebhookInput {
  webhookId: string;
  timestampSec: number;
  body: string;
  secrets: string[];
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>` per secret, space separated, over
 * `{id}.{timestamp}.{body}`. An empty secret list, a malformed secret or a non-integer timestamp is
 * a programming/data error and throws TypeError (never echoing the secret): sending an unsigned
 * webhook is never the right outcome.
 */
export function signWebhook(input: SignWebhookInput): string {
  const { webhookId, timestampSec, body, secrets } = input;
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new TypeError('signWebhook: timestampSec must be a non-negative integer number of seconds');
  }
  if (secrets.length === 0) throw new TypeError('signWebhook: at least one secret is required');
  const signedContent = `${webhookId}.${timestampSec}.${body}`;
  return secrets
    .map((secret, index) => {
      const key = decodeSecret(secret);
      if (key === null) throw new TypeError(`signWebhook: secret #${index + 1} is not a valid whsec_ secret`);
      return `v1,${createHmac('sha256', key).update(signedContent, 'utf8').digest('base64')}`;
    })
    .join(' ');
}

/** The three Standard Webhooks headers for one attempt, so callers cannot misspell or forget one. */
export function signatureHeaders(input: SignWebhookInput): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': input.webhookId,
    'webhook-timestamp': String(input.timestampSec),
    'webhook-signature': signWebhook(input),
  };
}

/** How far a `webhook-timestamp` may be from now, either way, before a receiver refuses it (the spec's replay window). */
export const SIGNATURE_TOLERANCE_SEC = 5 * 60;

/** What a receiver got: the three headers (as sent, possibly absent) and the raw body bytes. */
export interface VerifySignatureInput {
  webhookId: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  secret: string;
  nowSec?: number;
}

/** A verification outcome: ok, or the reason a receiver refuses the request (safe to print: it never holds a secret). */
export type SignatureVerification = { ok: true } | { ok: false; reason: string };

/**
 * Checks a request against a `whsec_` secret as a Standard Webhooks receiver does: all three headers present,
 * the timestamp within SIGNATURE_TOLERANCE_SEC of now, and one `v1,` signature equal (in constant time) to the
 * HMAC-SHA256 over `{id}.{timestamp}.{body}`. For `audithook receive`; a malformed secret throws TypeError.
 */
export function verifySignature(input: VerifySignatureInput): SignatureVerification {
  const key = decodeSecret(input.secret);
  if (key === null) throw new TypeError('verifySignature: the secret is not a valid whsec_ secret');
  const { webhookId, timestamp, signature } = input;
  if (!webhookId) return { ok: false, reason: 'missing webhook-id header' };
  if (!timestamp) return { ok: false, reason: 'missing webhook-timestamp header' };
  if (!signature) return { ok: false, reason: 'missing webhook-signature header' };
  if (!/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not a number of seconds' };
  const nowSec = input.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowSec - Number(timestamp)) > SIGNATURE_TOLERANCE_SEC) {
    return { ok: false, reason: `webhook-timestamp is more than ${SIGNATURE_TOLERANCE_SEC} s away from now (replay or clock skew)` };
  }
  const expected = createHmac('sha256', key).update(`${webhookId}.${timestamp}.`, 'utf8').update(input.body).digest();
  for (const candidate of signature.split(' ')) {
    const [version, encoded] = candidate.split(',', 2);
    if (version !== 'v1' || !encoded) continue;
    const given = Buffer.from(encoded, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: 'no webhook-signature matches the body (wrong secret, or the body or headers were changed)' };
}
