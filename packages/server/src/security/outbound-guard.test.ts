/**
 * The outbound guard on its own: address classification, URL rules, the allow-list, connection-time
 * checks with an injected resolver, redirects, and fetch semantics. Every connection goes to
 * 127.0.0.1; `net.Socket.prototype.connect` is watched to prove that refused targets are never dialled.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installDialRecorder, type DialRecorder } from '../../../../test/support/dial-recorder.js';
import { parseAddress, specialAddressReason } from './ip-address.js';
import {
  createGuardedFetch,
  OutboundPolicy,
  OutboundRequestRefusedError,
  parseAllowlist,
  parseAllowlistEntry,
  type HostResolver,
} from './outbound-guard.js';

interface Listener {
  server: Server;
  port: number;
  origin: string;
  connections: number;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end('ok')): Promise<Listener> {
  const listener = { connections: 0, requests: [] } as unknown as Listener;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      listener.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', () => listener.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(listener, {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A resolver for names that exist only in this test. */
function fakeResolver(names: Record<string, string[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

const strict = new OutboundPolicy(false, []);

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped address of a loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped address of a loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::a00:1', 'NAT64 address of a private'],
    ['2002:7f00:1::1', '6to4 address of a loopback'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'Teredo'],
    ['fe80::1%eth0', 'link-local'],
    // Every IPv6 form that carries an IPv4 address, and the other RFC 6890 special-purpose ranges.
    ['::ffff:0:127.0.0.1', 'IPv4-translated address of a loopback'],
    ['::ffff:0:7f00:1', 'IPv4-translated address of a loopback'],
    ['::ffff:0:169.254.169.254', 'IPv4-translated address of a cloud metadata'],
    ['::ffff:0:10.1.2.3', 'IPv4-translated address of a private'],
    ['::ffff:0:0:0', 'IPv4-translated address of an unspecified'],
    ['::ffff:0.0.0.0', 'IPv4-mapped address of an unspecified'],
    ['::10.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::127.0.0.1', 'NAT64 address of a loopback'],
    ['64:ff9b::169.254.169.254', 'NAT64 address of a cloud metadata'],
    ['64:ff9b:1::8.8.8.8', 'local-use NAT64'],
    ['2002:a9fe:a9fe::1', '6to4 address of a cloud metadata'],
    ['2002:c0a8:101::1', '6to4 address of a private'],
    ['100::1', 'discard-only'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:2::1', 'IETF protocol assignment'],
    ['2001:20::1', 'IETF protocol assignment'],
    ['3fff::1', 'documentation'],
    ['5f00::1', 'segment routing'],
    ['fec0::1', 'site-local'],
    ['ff05::1:3', 'multicast'],
    ['[::ffff:0:127.0.0.1]', 'IPv4-translated address of a loopback'],
  ])('%s is not public (%s)', (text, reason) => {
    const address = parseAddress(text);
    expect(address).toBeDefined();
    expect(specialAddressReason(address!)).toContain(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700:4700::1111', '2a00:1450::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '::ffff:0:8.8.8.8', '2002:808:808::1', '2620:fe::fe'])(
    '%s is public',
    (text) => {
      expect(specialAddressReason(parseAddress(text)!)).toBeUndefined();
    },
  );
});

describe('URL rules (before any connection)', () => {
  it.each([
    'file:///etc/passwd',
    'gopher://127.0.0.1:70/_stats',
    'ftp://example.com/file',
    'data:text/plain,hello',
    'javascript:alert(1)',
    'ws://example.com/',
  ])('refuses the scheme of %s', (url) => {
    expect(() => strict.checkUrl(new URL(url))).toThrowError(/scheme is not allowed/);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'metadata'],
    ['https://10.0.0.1/token', '10.0.0.1', 'private'],
    ['https://[::1]/mcp', '[::1]', 'loopback'],
    ['https://[::ffff:127.0.0.1]/mcp', '[::ffff:7f00:1]', 'IPv4-mapped address of a loopback'],
    ['https://[::ffff:0:127.0.0.1]/mcp', '[::ffff:0:7f00:1]', 'IPv4-translated address of a loopback'],
    ['https://2130706433/', '127.0.0.1', 'loopback'],
    ['https://0x7f.1/', '127.0.0.1', 'loopback'],
    ['https://127.1/', '127.0.0.1', 'loopback'],
    ['https://0/', '0.0.0.0', 'unspecified'],
    ['https://100.64.0.1/', '100.64.0.1', 'carrier-grade NAT'],
    ['https://localhost/', 'localhost', 'loopback'],
    ['https://LOCALHOST./', 'localhost', 'loopback'],
    ['https://api.localhost/', 'api.localhost', 'loopback'],
  ])('refuses %s, naming %s', (url, host, reason) => {
    let error: unknown;
    try {
      strict.checkUrl(new URL(url));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboundRequestRefusedError);
    expect((error as OutboundRequestRefusedError).host).toBe(host);
    expect((error as Error).message).toContain(host);
    expect((error as Error).message).toContain(reason);
  });

  it('refuses plain http to a public name unless the operator allows it', () => {
    expect(() => strict.checkUrl(new URL('http://example.com/'))).toThrowError(/plain http/);
    expect(strict.checkUrl(new URL('https://example.com/'))).toBe('check-resolved-addresses');
    expect(new OutboundPolicy(true).checkUrl(new URL('http://10.0.0.1/'))).toBe('allowed');
    expect(new OutboundPolicy(false, parseAllowlist('example.com')).checkUrl(new URL('http://example.com/'))).toBe('allowed');
  });

  it('never names the path or the query of a refused URL (they may carry secrets)', () => {
    try {
      strict.checkUrl(new URL('https://10.0.0.1/callback?code=secret-code&token=secret-token'));
    } catch (error) {
      expect((error as Error).message).not.toMatch(/secret|callback/);
    }
  });
});

describe('allow-list', () => {
  it('parses hosts, host:port, addresses with ports, wildcards and CIDRs', () => {
    expect(parseAllowlistEntry('MCP.Internal')).toEqual({ kind: 'host', host: 'mcp.internal', port: undefined });
    expect(parseAllowlistEntry('mcp.internal:8443')).toEqual({ kind: 'host', host: 'mcp.internal', port: 8443 });
    expect(parseAllowlistEntry('127.0.0.1:8080')).toEqual({ kind: 'host', host: '127.0.0.1', port: 8080 });
    expect(parseAllowlistEntry('[::1]:8080')).toEqual({ kind: 'host', host: '[::1]', port: 8080 });
    expect(parseAllowlistEntry('*.corp.example')).toEqual({ kind: 'subdomains', suffix: 'corp.example', port: undefined });
    expect(parseAllowlistEntry('10.0.0.0/8').kind).toBe('cidr');
    expect(parseAllowlistEntry('fd00::/8').kind).toBe('cidr');
    expect(parseAllowlistEntry('10.1.2.3').kind).toBe('cidr');
    for (const bad of ['10.0.0.0/33', 'http://x', 'a b', 'host:99999', '::1/200']) expect(() => parseAllowlistEntry(bad)).toThrow();
  });

  it('opens exactly what it lists', () => {
    const policy = new OutboundPolicy(false, parseAllowlist('127.0.0.1:8080, 10.0.0.0/8, mcp.internal, *.corp.example:443'));
    expect(policy.checkUrl(new URL('http://127.0.0.1:8080/mcp'))).toBe('allowed');
    expect(() => policy.checkUrl(new URL('http://127.0.0.1:8081/mcp'))).toThrowError(/loopback/);
    expect(policy.checkUrl(new URL('http://10.20.30.40/'))).toBe('allowed');
    expect(() => policy.checkUrl(new URL('http://11.0.0.1/'))).toThrowError(/plain http/);
    expect(policy.checkUrl(new URL('http://mcp.internal:9000/'))).toBe('allowed');
    expect(policy.checkUrl(new URL('https://a.corp.example/'))).toBe('allowed');
    expect(policy.checkUrl(new URL('https://a.corp.example:8443/'))).toBe('check-resolved-addresses');
    expect(() => policy.checkUrl(new URL('https://169.254.169.254/'))).toThrowError(/metadata/);
  });
});

describe('guarded fetch', () => {
  let target: Listener;
  let allowed: Listener;
  let recorder: DialRecorder;
  let dialled: string[];

  beforeAll(async () => {
    target = await listen((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('one,');
        setTimeout(() => res.end('two'), 20);
        return;
      }
      if (req.url === '/gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
        res.end(gzipSync(JSON.stringify({ ok: true })));
        return;
      }
      if (req.url === '/hang') return;
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(JSON.stringify({ path: req.url }));
    });
    allowed = await listen((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const to = url.searchParams.get('to');
      if (to) {
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: to });
        res.end();
        return;
      }
      res.end(JSON.stringify({ method: req.method, authorization: req.headers.authorization ?? null, apiKey: req.headers['x-api-key'] ?? null }));
    });
    // Records every address a socket actually dials, and refuses anything but loopback (safety net).
    recorder = installDialRecorder();
    dialled = recorder.dialled;
  });

  afterEach(() => {
    expect(recorder.blocked).toEqual([]);
    dialled.length = 0;
  });

  afterAll(async () => {
    recorder.restore();
    await Promise.all([target.close(), allowed.close()]);
  });

  const guard = (allow: string, names: Record<string, string[]> = {}) => {
    const resolve = fakeResolver(names);
    const refusals: OutboundRequestRefusedError[] = [];
    const fetch = createGuardedFetch({ policy: new OutboundPolicy(false, parseAllowlist(allow)), resolve, onRefused: (error) => refusals.push(error) });
    return { fetch, resolve, refusals };
  };

  it('refuses a loopback target without dialling it, and reaches it once allow-listed by port', async () => {
    const closed = guard('');
    await expect(closed.fetch(`${target.origin}/x`)).rejects.toThrowError(OutboundRequestRefusedError);
    await expect(closed.fetch(`http://[::ffff:127.0.0.1]:${target.port}/x`)).rejects.toThrowError(/IPv4-mapped address of a loopback/);
    expect(target.connections).toBe(0);
    expect(dialled).toEqual([]);
    expect(closed.refusals).toHaveLength(2);

    const open = guard(`127.0.0.1:${target.port}`);
    const response = await open.fetch(`${target.origin}/x`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: '/x' });
    expect(response.url).toBe(`${target.origin}/x`);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(target.connections).toBe(1);
    open.fetch.destroy();
  });

  it('checks every address a name resolves to, at connection time', async () => {
    const before = target.connections;
    const { fetch, resolve } = guard('', {
      'rebind.test': ['127.0.0.1'],
      'mixed.test': ['93.184.216.34', '10.0.0.7'],
      'metadata.test': ['169.254.169.254'],
      'mapped.test': ['::ffff:127.0.0.1'],
    });
    await expect(fetch(`https://rebind.test:${target.port}/x`)).rejects.toThrowError('Outbound request to rebind.test refused: it resolves to 127.0.0.1, a loopback address.');
    await expect(fetch('https://mixed.test/x')).rejects.toThrowError(/resolves to 10\.0\.0\.7, a private address/);
    await expect(fetch('https://metadata.test/latest/meta-data')).rejects.toThrowError(/cloud metadata/);
    await expect(fetch(`https://mapped.test:${target.port}/`)).rejects.toThrowError(/IPv4-mapped address of a loopback/);
    expect(resolve.calls).toEqual(['rebind.test', 'mixed.test', 'metadata.test', 'mapped.test']);
    expect(target.connections).toBe(before);
    expect(dialled).toEqual([]);
  });

  it('connects a name to the address it checked (a CIDR on the allow-list opens it)', async () => {
    const { fetch } = guard('127.0.0.0/8', { 'tools.internal.test': ['127.0.0.1'] });
    const response = await fetch(`http://tools.internal.test:${target.port}/named`);
    expect(await response.json()).toEqual({ path: '/named' });
    expect(target.requests.at(-1)!.headers.host).toBe(`tools.internal.test:${target.port}`);
    fetch.destroy();
  });

  it('re-checks every redirect hop and never dials a refused one', async () => {
    const { fetch, resolve, refusals } = guard(`127.0.0.1:${allowed.port}`, { 'rebind.test': ['127.0.0.1'] });
    const via = (to: string, status = 302) => `${allowed.origin}/r?status=${status}&to=${encodeURIComponent(to)}`;
    const before = target.connections;
    await expect(fetch(via('http://10.0.0.1/admin'))).rejects.toThrowError('Outbound request to 10.0.0.1 refused: 10.0.0.1 is a private address.');
    await expect(fetch(via('http://169.254.169.254/latest/meta-data/', 307))).rejects.toThrowError(/metadata/);
    await expect(fetch(via(`https://rebind.test:${target.port}/`))).rejects.toThrowError(/resolves to 127\.0\.0\.1/);
    await expect(fetch(via(`${target.origin}/`))).rejects.toThrowError(/loopback/);
    await expect(fetch(via('file:///etc/passwd'))).rejects.toThrowError(/file: scheme/);
    await expect(fetch(via('gopher://127.0.0.1:70/x'))).rejects.toThrowError(/gopher: scheme/);
    expect(target.connections).toBe(before);
    expect(dialled.length).toBeGreaterThan(0);
    expect(dialled.filter((entry) => entry !== `127.0.0.1:${allowed.port}`)).toEqual([]);
    expect(resolve.calls).toEqual(['rebind.test']);
    expect(refusals).toHaveLength(6);
    fetch.destroy();
  });

  it('keeps redirect modes: manual returns the 3xx, error fails, follow stops after 5 hops', async () => {
    const { fetch } = guard(`127.0.0.1:${allowed.port}`);
    const manual = await fetch(`${allowed.origin}/r?to=%2Fdone`, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe('/done');
    await expect(fetch(`${allowed.origin}/r?to=%2Fdone`, { redirect: 'error' })).rejects.toThrowError(TypeError);

    const followed = await fetch(`${allowed.origin}/r?to=%2Fdone`);
    expect(followed.status).toBe(200);
    expect(followed.redirected).toBe(true);
    expect(followed.url).toBe(`${allowed.origin}/done`);

    // A chain of six redirects: one too many.
    let url = `${allowed.origin}/end`;
    for (let index = 0; index < 6; index++) url = `${allowed.origin}/r?to=${encodeURIComponent(url)}`;
    await expect(fetch(url)).rejects.toThrowError(/more than 5 redirects/);
    fetch.destroy();
  });

  it('drops credentials on a cross-origin redirect and keeps them within the origin', async () => {
    // The same server under a second name is a second origin.
    const { fetch } = guard(`127.0.0.1:${allowed.port},echo.test:${allowed.port}`, { 'echo.test': ['127.0.0.1'] });
    const headers = { authorization: 'Bearer secret-token', 'x-api-key': 'secret-key', 'content-type': 'application/json' };
    const same = await fetch(`${allowed.origin}/r?status=307&to=%2Fecho`, { method: 'POST', headers, body: '{}' });
    expect(await same.json()).toEqual({ method: 'POST', authorization: 'Bearer secret-token', apiKey: 'secret-key' });
    const cross = await fetch(`${allowed.origin}/r?status=307&to=${encodeURIComponent(`http://echo.test:${allowed.port}/echo`)}`, { method: 'POST', headers, body: '{}' });
    expect(await cross.json()).toEqual({ method: 'POST', authorization: null, apiKey: null });
    expect(allowed.requests.at(-1)!.headers['content-type']).toBe('application/json');
    fetch.destroy();
  });

  it('turns a 303 after POST into a GET without the body', async () => {
    const { fetch } = guard(`127.0.0.1:${allowed.port}`);
    const response = await fetch(`${allowed.origin}/r?status=303&to=%2Fecho`, { method: 'POST', body: 'form=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await response.json()).toMatchObject({ method: 'GET' });
    expect(allowed.requests.at(-1)!.body).toBe('');
    expect(allowed.requests.at(-1)!.headers['content-type']).toBeUndefined();
    fetch.destroy();
  });

  it('streams bodies, decodes gzip, sends bodies and honours abort signals', async () => {
    const { fetch } = guard(`127.0.0.1:${target.port}`);
    const streamed = await fetch(`${target.origin}/stream`);
    const reader = streamed.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('one,');
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe('two');

    expect(await (await fetch(`${target.origin}/gzip`)).json()).toEqual({ ok: true });

    const posted = await fetch(`${target.origin}/post`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(posted.status).toBe(200);
    expect(target.requests.at(-1)).toMatchObject({ method: 'POST', body: 'a=1' });
    expect(target.requests.at(-1)!.headers['content-type']).toMatch(/application\/x-www-form-urlencoded/);

    const timeout = fetch(`${target.origin}/hang`, { signal: AbortSignal.timeout(100) });
    await expect(timeout).rejects.toMatchObject({ name: 'TimeoutError' });
    const controller = new AbortController();
    const aborted = fetch(`${target.origin}/hang`, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    fetch.destroy();
  });

  it('fails like fetch when nothing listens', async () => {
    const closed = await listen();
    const port = closed.port;
    await closed.close();
    const { fetch } = guard(`127.0.0.1:${port}`);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrowError('fetch failed');
    fetch.destroy();
  });
});
