/** What the authorization header's credentials become in a copied curl command: the secret is never copied. */
export const SECRET_PLACEHOLDER = '<secret>';

/** One header of an attempt, as the API returns it (authorization already reduced to its scheme). */
export interface SentHeader {
  name: string;
  value: string;
}

/** A string as one single-quoted POSIX shell word. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The request of one attempt as a curl command a person can paste: same URL, headers and body (the
 * body is the delivery payload, byte for byte as sent), with the authorization credentials replaced
 * by SECRET_PLACEHOLDER. The API never returns them, so nothing here could leak them anyway.
 */
export function curlCommand(request: { url: string; headers: SentHeader[]; body: string }): string {
  const lines = [`curl -X POST ${shellQuote(request.url)}`];
  for (const { name, value } of request.headers) {
    // The API shows an authorization value as its scheme (`Basic`), or `[redacted]` when it has none.
    const shown = name !== 'authorization' ? value : value === '[redacted]' ? SECRET_PLACEHOLDER : `${value} ${SECRET_PLACEHOLDER}`;
    lines.push(`-H ${shellQuote(`${name}: ${shown}`)}`);
  }
  lines.push(`--data-raw ${shellQuote(request.body)}`);
  return lines.join(' \\\n  ');
}
