import { badInput } from '../../lib/app-error.js';

/** The most bytes an Authorization header value may have. */
export const MAX_AUTHORIZATION_BYTES = 4096;
const TOKEN68_SCHEME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** How the admin gave the receiver's credentials: exactly one of the two. */
export interface AuthorizationInputData {
  basic?: { username: string; password: string } | null;
  header?: string | null;
}

/** The parsed header: the whole value (to seal) and what may be shown (scheme, Basic user name). */
export interface ParsedAuthorization {
  headerValue: string;
  scheme: string;
  username: string | null;
}

/** Validates an AuthorizationInput at `field` (e.g. `input.authorization`) and builds the header value. */
export function parseAuthorizationInput(input: AuthorizationInputData, field: string): ParsedAuthorization {
  const hasBasic = input.basic !== undefined && input.basic !== null;
  const hasHeader = input.header !== undefined && input.header !== null;
  if (hasBasic === hasHeader) throw badInput(field, 'give exactly one of basic or header');
  if (hasBasic) {
    const { username, password } = input.basic!;
    if (typeof username !== 'string' || username.length === 0) throw badInput(`${field}.basic.username`, 'username must not be empty');
    if (username.includes(':')) throw badInput(`${field}.basic.username`, 'username must not contain a colon (Basic credentials are user:password)');
    rejectControlCharacters(username, `${field}.basic.username`);
    if (typeof password !== 'string') throw badInput(`${field}.basic.password`, 'password is required');
    rejectControlCharacters(password, `${field}.basic.password`);
    const headerValue = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    if (Buffer.byteLength(headerValue) > MAX_AUTHORIZATION_BYTES) throw badInput(`${field}.basic`, `the encoded credentials must be at most ${MAX_AUTHORIZATION_BYTES} bytes`);
    return { headerValue, scheme: 'Basic', username };
  }
  const headerValue = input.header!.trim();
  const headerField = `${field}.header`;
  if (/[\r\n]/.test(input.header!)) throw badInput(headerField, 'header must not contain CR or LF characters');
  rejectControlCharacters(headerValue, headerField);
  if (headerValue.length === 0) throw badInput(headerField, 'header must not be empty');
  if (Buffer.byteLength(headerValue) > MAX_AUTHORIZATION_BYTES) throw badInput(headerField, `header must be at most ${MAX_AUTHORIZATION_BYTES} bytes`);
  const [scheme = '', ...rest] = headerValue.split(' ');
  const credentials = rest.join(' ').trim();
  // The scheme is shown back (Webhook.authorization.scheme, attempt headers): a value without a
  // space would be one token taken for a scheme, and showing it would return the secret.
  if (!TOKEN68_SCHEME.test(scheme) || credentials.length === 0) {
    throw badInput(headerField, 'header must be an authentication scheme and credentials separated by a space, e.g. "Basic dXNlcjpwYXNz" or "Bearer abc"');
  }
  return { headerValue, scheme, username: scheme.toLowerCase() === 'basic' ? basicUsername(credentials) : null };
}

function basicUsername(credentials: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return null;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : null;
}

function rejectControlCharacters(value: string, field: string): void {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) throw badInput(field, `${field.split('.').at(-1)} must not contain control characters (CR, LF, NUL, ...)`);
}
