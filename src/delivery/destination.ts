// Where a webhook may be sent. Two checks share these rules:
//  - checkDestinationUrl runs when an admin registers a URL (friendly errors, resolves the host once);
//  - createGuardedLookup runs at connect time inside the HTTP agents, so a DNS answer that changes
//    after registration (DNS rebinding) still cannot reach loopback, private or metadata addresses.
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** Longest webhook URL we accept; also bounds what we store and log. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Error code shared by the registration check, the connect-time lookup and the HTTP client. */
export const DESTINATION_NOT_ALLOWED = 'DESTINATION_NOT_ALLOWED';

/** Resolves a hostname to every address it may connect to; injectable so tests never touch real DNS. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** Outcome of validating a webhook URL at registration time; codes map to GraphQL error codes. */
export type DestinationCheck =
  | { ok: true; url: URL }
  | { ok: false; code: 'BAD_USER_INPUT' | 'DESTINATION_NOT_ALLOWED'; message: string };

/** Options for checkDestinationUrl; config is passed in, never read from the environment. */
export interface DestinationCheckOptions {
  allowHttp: boolean;
  allowPrivateDestinations: boolean;
  resolveHost?: ResolveHost;
}

/** Connect-time lookup compatible with net.connect / http.Agent's `lookup` option. */
export type GuardedLookup = net.LookupFunction;

/**
 * Whether a literal IPv4/IPv6 address is on the public internet and so a safe webhook target.
 * Deliberately conservative: only ipaddr.js's 'unicast' range counts (for IPv6 additionally only
 * global unicast 2000::/3). The two forms that are plainly "this IPv4 address" — IPv4-mapped
 * (::ffff:a.b.c.d) and the well-known NAT64 prefix 64:ff9b::/96 (DNS64 answers on IPv6-only
 * networks) — are judged by the IPv4 address they embed. 6to4, Teredo, IPv4-compatible, RFC 6145
 * and local-use NAT64 forms are never public. Anything that is not a canonical address (including
 * zone ids and odd IPv4 spellings such as "127.1") → false.
 */
export function isPublicAddress(ip: string): boolean {
  if (typeof ip !== 'string' || ip.includes('%')) return false;
  const family = net.isIP(ip);
  if (family === 0) return false;
  try {
    if (family === 4) return isPublicIPv4(ipaddr.IPv4.parse(ip));
    // ipaddr.js reads the dotted tail of an IPv4-compatible address (::a.b.c.d) as IPv4-mapped
    // (::ffff:a.b.c.d); let the WHATWG parser (what the URL and so the connection use) canonicalise
    // to pure hex first.
    const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    return isPublicIPv6(ipaddr.IPv6.parse(canonical));
  } catch {
    return false;
  }
}

function isPublicIPv4(address: ipaddr.IPv4): boolean {
  return address.range() === 'unicast';
}

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN_PREFIX = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

function isPublicIPv6(address: ipaddr.IPv6): boolean {
  const range = address.range();
  if (range === 'ipv4Mapped') return isPublicIPv4(address.toIPv4Address());
  if (address.match(NAT64_WELL_KNOWN_PREFIX)) return isPublicIPv4(embeddedIPv4(address));
  return range === 'unicast' && address.match(GLOBAL_UNICAST_V6);
}

function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 {
  const high = address.parts[6] ?? 0;
  const low = address.parts[7] ?? 0;
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** Whether a hostname is `localhost` or under `.localhost` (RFC 6761), which always means this machine. */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Strips the brackets the URL parser keeps around IPv6 literals (`[::1]` → `::1`). */
export function unbracketHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** The default resolver: the OS resolver (as net.connect would use), every address, in OS order. */
export const defaultResolveHost: ResolveHost = async (hostname) => {
  const addresses = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return addresses.map((entry) => entry.address);
};

function badInput(message: string): DestinationCheck {
  return { ok: false, code: 'BAD_USER_INPUT', message };
}

function notAllowed(message: string): DestinationCheck {
  return { ok: false, code: 'DESTINATION_NOT_ALLOWED', message };
}

// Whitespace or control characters inside a URL are silently dropped or re-encoded by the WHATWG
// parser; for an admin-entered URL that is a typo, not intent.
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/**
 * Validates a webhook URL an admin wants to register. Syntactic rules always apply; the address
 * rules (IP literal must be public, hostname must not be localhost and must resolve only to public
 * addresses) apply unless allowPrivateDestinations — in which case the host is not resolved at all.
 * Surrounding whitespace is trimmed; the returned URL is the parser's normalised form to store.
 * Messages never echo resolved addresses (that would let admins map internal DNS).
 */
export async function checkDestinationUrl(rawUrl: string, options: DestinationCheckOptions): Promise<DestinationCheck> {
  const text = typeof rawUrl === 'string' ? rawUrl.trim() : '';
  if (text === '') return badInput('the webhook URL is empty');
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    return badInput(`the webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  if (WHITESPACE_OR_CONTROL.test(text)) {
    return badInput('the webhook URL must not contain spaces or control characters');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return badInput('the webhook URL must be a valid absolute URL, e.g. https://example.com/webhooks');
  }
  if (url.protocol !== 'https:' && !(options.allowHttp && url.protocol === 'http:')) {
    return badInput(
      options.allowHttp
        ? `the webhook URL must use https:// or http://, not ${url.protocol}`
        : `the webhook URL must use https://${url.protocol === 'http:' ? '; plain http:// is not allowed' : `, not ${url.protocol}`}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    return badInput('the webhook URL must not contain a username or password; use the authorization setting instead');
  }
  if (url.href.includes('#')) {
    return badInput('the webhook URL must not contain a #fragment; fragments are never sent to the server');
  }
  if (url.hostname === '') return badInput('the webhook URL has no host');
  if (url.port === '0') return badInput('the webhook URL has an invalid port 0');
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) {
    return badInput(`the webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters once normalised`);
  }

  if (options.allowPrivateDestinations) return { ok: true, url };

  const host = unbracketHost(url.hostname);
  if (net.isIP(host) !== 0) {
    return isPublicAddress(host)
      ? { ok: true, url }
      : notAllowed(`the webhook URL points at ${url.hostname}, which is not a public internet address`);
  }
  if (isLocalhostName(host)) {
    return notAllowed(`the webhook URL points at ${host}, which is this machine`);
  }
  const resolveHost = options.resolveHost ?? defaultResolveHost;
  let addresses: string[];
  try {
    addresses = await resolveHost(host);
  } catch {
    return badInput(`could not resolve host ${host}`);
  }
  if (addresses.length === 0) return badInput(`could not resolve host ${host}`);
  if (!addresses.every(isPublicAddress)) {
    return notAllowed(`the webhook host ${host} resolves to an address that is not a public internet address`);
  }
  return { ok: true, url };
}

/** Error passed to net's lookup callback when a destination is refused; `code` drives SendOutcome.error. */
export class DestinationNotAllowedError extends Error {
  override readonly name = 'DestinationNotAllowedError';
  readonly code = DESTINATION_NOT_ALLOWED;
  constructor(readonly hostname: string) {
    super(`Destination ${hostname} is not allowed: it is not a public internet address.`);
  }
}

type LookupCallback = Parameters<net.LookupFunction>[2];

function familyOption(options: dns.LookupOptions): 0 | 4 | 6 {
  const family = options.family as unknown;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

async function lookupAll(
  hostname: string,
  options: dns.LookupOptions,
  resolveHost: ResolveHost | undefined,
): Promise<dns.LookupAddress[]> {
  const family = familyOption(options);
  if (resolveHost === undefined) {
    const { all: _all, ...rest } = options;
    return dns.promises.lookup(hostname, { ...rest, family, all: true });
  }
  const addresses = (await resolveHost(hostname)).map((address) => ({ address, family: net.isIP(address) }));
  return addresses.filter((entry) => family === 0 || entry.family === family);
}

/**
 * The connect-time guard: a `lookup` for net.connect / http(s).Agent that resolves the host and
 * refuses (error code DESTINATION_NOT_ALLOWED) if ANY answer is not public, or the name is
 * localhost. Net connects to exactly the addresses returned here, so there is no window for a
 * second, different DNS answer. Node skips `lookup` for IP-literal hosts, so callers must check
 * those themselves. `resolveHost` replaces the OS resolver (tests, custom DNS).
 */
export function createGuardedLookup(allowPrivateDestinations: boolean, resolveHost?: ResolveHost): GuardedLookup {
  return (hostname, options, callback: LookupCallback) => {
    const wantsAll = options.all === true;
    if (!allowPrivateDestinations && isLocalhostName(hostname)) {
      callback(new DestinationNotAllowedError(hostname), wantsAll ? [] : '', 0);
      return;
    }
    lookupAll(hostname, options, resolveHost).then(
      (addresses) => {
        const first = addresses[0];
        if (first === undefined) {
          const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          error.code = 'ENOTFOUND';
          callback(error, wantsAll ? [] : '', 0);
        } else if (!allowPrivateDestinations && !addresses.every((entry) => isPublicAddress(entry.address))) {
          callback(new DestinationNotAllowedError(hostname), wantsAll ? [] : '', 0);
        } else if (wantsAll) {
          callback(null, addresses);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => {
        const failure: NodeJS.ErrnoException =
          error instanceof Error ? error : Object.assign(new Error(String(error)), { code: 'ENOTFOUND' });
        if (failure.code === undefined) failure.code = 'ENOTFOUND';
        callback(failure, wantsAll ? [] : '', 0);
      },
    );
  };
}
