import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, secretKeyId } from '../../src/lib/secret-box.js';

const keyA = Buffer.alloc(32, 1);
const keyB = Buffer.alloc(32, 2);

/** A value in the format written before key ids existed (`v1.<iv>.<tag>.<ciphertext>`). */
function sealV1(key: Buffer, plaintext: string, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** Cuts the authentication tag of a sealed value down to `bytes` bytes, keeping everything else. */
function truncateTag(sealed: string, bytes: number): string {
  const parts = sealed.split('.');
  const tagIndex = parts.length - 2;
  parts[tagIndex] = Buffer.from(parts[tagIndex]!, 'base64url').subarray(0, bytes).toString('base64url');
  return parts.join('.');
}

describe('SecretBox', () => {
  it('refuses an authentication tag shorter than 16 bytes instead of checking only its prefix', () => {
    const box = new SecretBox(keyA);
    const sealed = box.seal('Basic c2VjcmV0', 'webhook:wh_1:authorization');
    expect(box.open(sealed, 'webhook:wh_1:authorization')).toBe('Basic c2VjcmV0');
    for (const bytes of [4, 8, 12, 15]) {
      expect(() => box.open(truncateTag(sealed, bytes), 'webhook:wh_1:authorization')).toThrow(/malformed/);
    }
    // The same for values in the older v1 format.
    const legacy = sealV1(keyA, 'whsec_x', 'webhook:wh_1:signing');
    expect(box.open(legacy, 'webhook:wh_1:signing')).toBe('whsec_x');
    expect(() => box.open(truncateTag(legacy, 12), 'webhook:wh_1:signing')).toThrow(/malformed/);
  });

  it('seals under the current key, opens values of a previous key, and says which key it lacks', () => {
    const sealedByA = new SecretBox(keyA).seal('pw', 'ctx');
    const rotated = new SecretBox(keyB, [keyA]);
    expect(rotated.open(sealedByA, 'ctx')).toBe('pw');
    expect(rotated.isCurrent(sealedByA)).toBe(false);
    const resealed = rotated.seal('pw', 'ctx');
    expect(rotated.isCurrent(resealed)).toBe(true);
    expect(resealed.split('.').slice(0, 2)).toEqual(['v2', secretKeyId(keyB)]);
    expect(new SecretBox(keyB).open(resealed, 'ctx')).toBe('pw');

    const withoutA = new SecretBox(keyB);
    expect(withoutA.tryOpen(sealedByA, 'ctx')).toEqual({ ok: false, reason: 'unknown-key', keyId: secretKeyId(keyA) });
    expect(() => withoutA.open(sealedByA, 'ctx')).toThrow(/AUDITHOOK_SECRET_KEY_PREVIOUS/);
    // Old v1 values carry no key id: every configured key is tried.
    expect(rotated.open(sealV1(keyA, 'old', 'ctx'), 'ctx')).toBe('old');
    expect(withoutA.tryOpen(sealV1(keyA, 'old', 'ctx'), 'ctx')).toMatchObject({ ok: false, reason: 'not-authentic' });
    // Associated data still binds a value to its row and column.
    expect(rotated.tryOpen(sealedByA, 'other')).toMatchObject({ ok: false, reason: 'not-authentic' });
  });
});
