import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Written before key ids existed: `v1.<iv>.<tag>.<ciphertext>`; still read, by trying every key. */
const LEGACY_VERSION = 'v1';
/** `v2.<key id>.<iv>.<tag>.<ciphertext>`: the key id picks the key, so rotation needs no guessing. */
const VERSION = 'v2';
const IV_BYTES = 12;
/** GCM tags are 16 bytes; a shorter one would make forgery easier, so it is refused, not accepted. */
const AUTH_TAG_BYTES = 16;

/** Why a sealed value could not be opened; never contains the value or a key. */
export type OpenFailure = 'malformed' | 'unknown-key' | 'not-authentic';

/** Outcome of SecretBox.tryOpen, as a value. */
export type OpenResult = { ok: true; plaintext: string } | { ok: false; reason: OpenFailure; keyId: string | null };

/** A short, non-secret fingerprint of a key, stored beside each sealed value (SHA-256, domain-separated, 48 bits). */
export function secretKeyId(key: Buffer): string {
  return createHash('sha256').update('audithook secret key id\0').update(key).digest().subarray(0, 6).toString('base64url');
}

/**
 * Encrypts secrets at rest (AES-256-GCM) so a copied database file does not leak receivers' credentials.
 * Seals with the current key; opens with the current key or any previous one, so a key can be rotated
 * while stored values are re-encrypted (`audithook reencrypt`).
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  /** Id of the key every new value is sealed with. */
  readonly currentKeyId: string;

  constructor(
    private readonly key: Buffer,
    previousKeys: readonly Buffer[] = [],
  ) {
    for (const k of [key, ...previousKeys]) if (k.length !== 32) throw new Error('SecretBox needs 32-byte keys');
    this.currentKeyId = secretKeyId(key);
    this.keys = new Map([[this.currentKeyId, key]]);
    for (const k of previousKeys) if (!this.keys.has(secretKeyId(k))) this.keys.set(secretKeyId(k), k);
  }

  /** `v2.<key id>.<iv>.<tag>.<ciphertext>`, all base64url; the associated data binds a value to its row and column. */
  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: AUTH_TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.currentKeyId, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /** Whether a sealed value is already under the current key (re-encryption skips it). */
  isCurrent(sealed: string): boolean {
    const parts = sealed.split('.');
    return parts[0] === VERSION && parts[1] === this.currentKeyId;
  }

  /** Opens a sealed value; the failure says why without revealing anything secret. */
  tryOpen(sealed: string, associatedData: string): OpenResult {
    const parts = sealed.split('.');
    let candidates: Buffer[];
    let keyId: string | null = null;
    let fields: string[];
    if (parts[0] === VERSION && parts.length === 5) {
      keyId = parts[1]!;
      const key = this.keys.get(keyId);
      if (!key) return { ok: false, reason: 'unknown-key', keyId };
      candidates = [key];
      fields = parts.slice(2);
    } else if (parts[0] === LEGACY_VERSION && parts.length === 4) {
      candidates = [...this.keys.values()];
      fields = parts.slice(1);
    } else {
      return { ok: false, reason: 'malformed', keyId: null };
    }
    const [iv, tag, ciphertext] = fields.map((f) => Buffer.from(f!, 'base64url')) as [Buffer, Buffer, Buffer];
    if (iv.length !== IV_BYTES || tag.length !== AUTH_TAG_BYTES) return { ok: false, reason: 'malformed', keyId };
    for (const key of candidates) {
      const plaintext = decrypt(key, iv, tag, ciphertext, associatedData);
      if (plaintext !== null) return { ok: true, plaintext };
    }
    return { ok: false, reason: 'not-authentic', keyId };
  }

  /** Throws when the value was tampered with, sealed for another row, or under a key this process does not have. */
  open(sealed: string, associatedData: string): string {
    const result = this.tryOpen(sealed, associatedData);
    if (result.ok) return result.plaintext;
    throw new Error(describeOpenFailure(result));
  }
}

/** A log-safe sentence for an open failure: names the key id (a fingerprint), never a key or a value. */
export function describeOpenFailure(failure: { reason: OpenFailure; keyId: string | null }): string {
  switch (failure.reason) {
    case 'malformed':
      return 'sealed value is malformed (unknown format, or an IV or authentication tag of the wrong length)';
    case 'unknown-key':
      return `sealed value was encrypted under key ${failure.keyId}, which is neither AUDITHOOK_SECRET_KEY nor in AUDITHOOK_SECRET_KEY_PREVIOUS`;
    case 'not-authentic':
      return 'sealed value failed authentication: tampered with, sealed for another row, or under a key not configured';
  }
}

function decrypt(key: Buffer, iv: Buffer, tag: Buffer, ciphertext: Buffer, associatedData: string): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: AUTH_TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
