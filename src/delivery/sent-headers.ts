/** One request header as kept with an attempt. */
export interface SentHeader {
  name: string;
  value: string;
}

/**
 * The headers of a request as they may be stored and shown: every header as sent, except that an
 * Authorization value keeps only its scheme (`Basic`, `Bearer`, ...), so the credential itself never
 * reaches the attempt history. Names are lower case, in the order they were sent.
 */
export function sentHeaders(headers: Record<string, string>): SentHeader[] {
  return Object.entries(headers).map(([name, value]) => {
    const lower = name.toLowerCase();
    return { name: lower, value: lower === 'authorization' ? authorizationScheme(value) : value };
  });
}

/** The scheme of an Authorization value: its first word, or `[redacted]` when it has none. */
export function authorizationScheme(value: string): string {
  const scheme = value.trim().split(/\s+/, 1)[0] ?? '';
  return /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/.test(scheme) && scheme.length < value.trim().length ? scheme : '[redacted]';
}
