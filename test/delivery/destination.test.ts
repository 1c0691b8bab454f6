import type dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  checkDestinationUrl,
  createGuardedLookup,
  isPublicAddress,
  type DestinationCheck,
  type ResolveHost,
} from '../../src/delivery/destination.js';

describe('isPublicAddress', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '100.63.255.255', // just below CGNAT
    '100.128.0.0', // just above CGNAT
    '172.15.255.255', // just below 172.16/12
    '172.32.0.0', // just above 172.16/12
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8', // IPv4-mapped public address is that public address
    '64:ff9b::808:808', // DNS64 synthesis of 8.8.8.8
  ])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12'],
    ['192.168.1.1', 'private 192.168/16'],
    ['169.254.169.254', 'cloud metadata / link-local'],
    ['169.254.0.1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', '0/8'],
    ['255.255.255.255', 'broadcast'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['192.0.0.8', 'IETF protocol assignments 192.0.0/24'],
    ['192.0.2.1', 'TEST-NET-1'],
    ['198.51.100.7', 'TEST-NET-2'],
    ['203.0.113.9', 'TEST-NET-3'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['240.0.0.1', 'reserved 240/4'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['febf::1', 'IPv6 link-local (end of fe80::/10)'],
    ['fc00::1', 'ULA'],
    ['fd12:3456:789a::1', 'ULA'],
    ['fd00:ec2::254', 'AWS metadata (ULA)'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::7f00:1', 'IPv4-compatible loopback, hex form'],
    ['::8.8.8.8', 'IPv4-compatible (deprecated) even for a public address'],
    ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
    ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of 169.254.169.254'],
    ['64:ff9b:1::808:808', 'local-use NAT64 prefix'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['2002:808:808::1', '6to4 (never trusted)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['::ffff:0:7f00:1', 'RFC 6145 IPv4-translated'],
    ['100::1', 'discard-only 100::/64'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation (RFC 9637)'],
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'ORCHID'],
    ['5f00::1', 'segment routing'],
    ['4000::1', 'outside global unicast 2000::/3'],
    ['fe80::1%eth0', 'zone id'],
    ['127.1', 'non-canonical IPv4'],
    ['0x7f.0.0.1', 'non-canonical IPv4'],
    ['2130706433', 'integer IPv4'],
    ['[::1]', 'bracketed'],
    ['localhost', 'a hostname'],
    ['example.com', 'a hostname'],
    ['', 'empty'],
    ['999.1.1.1', 'invalid'],
    ['1.2.3.4 ', 'trailing space'],
  ])('%s is not public (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });
});

const strict = { allowHttp: false, allowPrivateDestinations: false };

/** A resolver stub for names that must never be resolved for real in tests. */
function stubResolver(table: Record<string, string[]>): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<string[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses;
  };
  return Object.assign(resolve, { calls });
}

const noResolve: ResolveHost = () => {
  throw new Error('resolveHost must not be called');
};

function expectRefused(check: DestinationCheck, code: 'BAD_USER_INPUT' | 'DESTINATION_NOT_ALLOWED', message?: RegExp): void {
  expect(check.ok).toBe(false);
  if (check.ok) return;
  expect(check.code).toBe(code);
  expect(check.message.length).toBeGreaterThan(10);
  if (message) expect(check.message).toMatch(message);
}

describe('checkDestinationUrl', () => {
  const resolveHost = stubResolver({
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'internal.example.com': ['10.1.2.3'],
    'mixed.example.com': ['93.184.216.34', '192.168.0.10'],
    'metadata.example.com': ['169.254.169.254'],
    'mapped.example.com': ['::ffff:127.0.0.1'],
    'aws-v6-metadata.example.com': ['fd00:ec2::254'],
    'empty.example.com': [],
  });

  it('accepts a public https URL and returns the normalised URL', async () => {
    const check = await checkDestinationUrl('  https://Hooks.Example.com/in?x=1  ', { ...strict, resolveHost });
    expect(check.ok).toBe(true);
    if (check.ok) expect(check.url.href).toBe('https://hooks.example.com/in?x=1');
    expect(resolveHost.calls).toContain('hooks.example.com');
  });

  it('accepts public IP literals without resolving', async () => {
    for (const url of ['https://8.8.8.8/hook', 'https://[2606:4700:4700::1111]:8443/hook']) {
      expect((await checkDestinationUrl(url, { ...strict, resolveHost: noResolve })).ok).toBe(true);
    }
  });

  it('accepts http only when allowHttp', async () => {
    expectRefused(await checkDestinationUrl('http://hooks.example.com/', { ...strict, resolveHost }), 'BAD_USER_INPUT', /https/);
    expect((await checkDestinationUrl('http://hooks.example.com/', { ...strict, allowHttp: true, resolveHost })).ok).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['hooks.example.com/in', /absolute URL/],
    ['/webhooks', /absolute URL/],
    ['https://', /absolute URL/],
    ['ftp://hooks.example.com/', /https/],
    ['file:///etc/passwd', /https/],
    ['javascript:alert(1)', /https/],
    ['ws://hooks.example.com/', /https/],
    ['https://user:pass@hooks.example.com/', /username or password/],
    ['https://user@hooks.example.com/', /username or password/],
    ['https://hooks.example.com/in#frag', /fragment/],
    ['https://hooks.example.com/in#', /fragment/],
    ['https://hooks.example.com/in path', /spaces/],
    ['https://hooks.example.com/\tin', /spaces/],
    [`https://hooks.example.com/${'a'.repeat(2048)}`, /2048/],
    ['https://hooks.example.com:0/', /port/],
    ['https://hooks.example.com:70000/', /absolute URL/],
  ])('BAD_USER_INPUT for %j', async (url, message) => {
    expectRefused(await checkDestinationUrl(url, { ...strict, resolveHost: noResolve }), 'BAD_USER_INPUT', message);
  });

  it('syntactic rules still apply with allowPrivateDestinations and allowHttp', async () => {
    const lax = { allowHttp: true, allowPrivateDestinations: true, resolveHost: noResolve };
    expectRefused(await checkDestinationUrl('http://u:p@127.0.0.1/', lax), 'BAD_USER_INPUT');
    expectRefused(await checkDestinationUrl('ftp://127.0.0.1/', lax), 'BAD_USER_INPUT');
    expectRefused(await checkDestinationUrl('http://127.0.0.1/#x', lax), 'BAD_USER_INPUT');
  });

  it('accepts exactly 2048 characters', async () => {
    const base = 'https://hooks.example.com/';
    const url = base + 'a'.repeat(2048 - base.length);
    expect((await checkDestinationUrl(url, { ...strict, resolveHost })).ok).toBe(true);
  });

  it.each([
    'https://127.0.0.1/',
    'https://127.0.0.1:8443/hook',
    'https://10.0.0.8/',
    'https://192.168.1.1/',
    'https://169.254.169.254/latest/meta-data/',
    'https://0.0.0.0/',
    'https://[::1]/',
    'https://[::]/',
    'https://[fe80::1]/',
    'https://[fd00:ec2::254]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://[::ffff:169.254.169.254]/',
    'https://[64:ff9b::a9fe:a9fe]/',
    'https://2130706433/', // 127.0.0.1
    'https://0x7f.1/', // 127.0.0.1
    'https://0177.0.0.1/', // octal 127.0.0.1
    'https://127.1/',
    'https://0xa9fea9fe/', // 169.254.169.254
    'https://100.64.0.1/',
    'https://localhost/',
    'https://localhost:8443/',
    'https://LocalHost./',
    'https://api.localhost/',
  ])('DESTINATION_NOT_ALLOWED for %s (no DNS query)', async (url) => {
    expectRefused(await checkDestinationUrl(url, { ...strict, resolveHost: noResolve }), 'DESTINATION_NOT_ALLOWED');
  });

  it.each(['internal.example.com', 'mixed.example.com', 'metadata.example.com', 'mapped.example.com', 'aws-v6-metadata.example.com'])(
    'DESTINATION_NOT_ALLOWED when %s resolves to any non-public address',
    async (host) => {
      const check = await checkDestinationUrl(`https://${host}/hook`, { ...strict, resolveHost });
      expectRefused(check, 'DESTINATION_NOT_ALLOWED', new RegExp(host.replace(/\./g, '\\.')));
      // The resolved (internal) address is not echoed back to the admin.
      if (!check.ok) expect(check.message).not.toMatch(/10\.1\.2\.3|192\.168|169\.254|127\.0\.0\.1|fd00/);
    },
  );

  it('BAD_USER_INPUT when the host does not resolve (error or no answers)', async () => {
    expectRefused(await checkDestinationUrl('https://nope.example.com/', { ...strict, resolveHost }), 'BAD_USER_INPUT', /could not resolve host nope\.example\.com/);
    expectRefused(await checkDestinationUrl('https://empty.example.com/', { ...strict, resolveHost }), 'BAD_USER_INPUT', /could not resolve host/);
  });

  it('allowPrivateDestinations skips the address rules and does not resolve', async () => {
    const lax = { allowHttp: true, allowPrivateDestinations: true, resolveHost: noResolve };
    for (const url of ['http://127.0.0.1:8080/hook', 'https://[::1]/', 'http://localhost:3000/', 'https://internal.example.com/', 'http://receiver:9000/']) {
      expect((await checkDestinationUrl(url, lax)).ok).toBe(true);
    }
  });
});

describe('createGuardedLookup', () => {
  type LookupResult = { error: NodeJS.ErrnoException | null; address: string | dns.LookupAddress[]; family?: number };

  function lookup(fn: ReturnType<typeof createGuardedLookup>, hostname: string, options: dns.LookupOptions): Promise<LookupResult> {
    return new Promise((resolve) => fn(hostname, options, (error, address, family) => resolve({ error, address, family })));
  }

  const resolveHost = stubResolver({
    'public.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'rebound.example.com': ['93.184.216.34', '127.0.0.1'],
  });

  it('returns every address for all: true and the first for the single form', async () => {
    const guarded = createGuardedLookup(false, resolveHost);
    expect(await lookup(guarded, 'public.example.com', { all: true })).toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
      ],
      family: undefined,
    });
    expect(await lookup(guarded, 'public.example.com', {})).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await lookup(guarded, 'public.example.com', { family: 6 })).toEqual({
      error: null,
      address: '2606:2800:220:1:248:1893:25c8:1946',
      family: 6,
    });
  });

  it('fails with code DESTINATION_NOT_ALLOWED when any answer is not public', async () => {
    const guarded = createGuardedLookup(false, resolveHost);
    for (const options of [{ all: true }, {}] satisfies dns.LookupOptions[]) {
      const result = await lookup(guarded, 'rebound.example.com', options);
      expect(result.error?.code).toBe('DESTINATION_NOT_ALLOWED');
    }
    expect((await lookup(guarded, 'localhost', {})).error?.code).toBe('DESTINATION_NOT_ALLOWED');
  });

  it('passes resolver failures through with their code', async () => {
    const result = await lookup(createGuardedLookup(false, resolveHost), 'missing.example.com', { all: true });
    expect(result.error?.code).toBe('ENOTFOUND');
  });

  it('allows private answers when allowPrivateDestinations', async () => {
    const guarded = createGuardedLookup(true, resolveHost);
    expect(await lookup(guarded, 'rebound.example.com', { family: 4, all: true })).toMatchObject({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
  });

  it('uses the OS resolver by default (localhost from the hosts file)', async () => {
    const open = await lookup(createGuardedLookup(true), 'localhost', { all: true });
    expect(open.error).toBeNull();
    expect(Array.isArray(open.address) && open.address.length > 0).toBe(true);
    expect((await lookup(createGuardedLookup(false), 'localhost', { all: true })).error?.code).toBe('DESTINATION_NOT_ALLOWED');
    // An IP literal passed to lookup resolves to itself, and is judged like any answer.
    expect((await lookup(createGuardedLookup(false), '127.0.0.1', {})).error?.code).toBe('DESTINATION_NOT_ALLOWED');
  });
});
