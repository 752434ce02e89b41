/**
 * The outbound guard: the `fetch` every request Gatehouse makes on its own goes through (OAuth
 * discovery, token, refresh and revocation requests, MCP tool servers, webhooks). It keeps those
 * requests off the operator's internal network (SSRF, OWASP SSRF Prevention Cheat Sheet):
 *
 * - only `https:`, and `http:` where the operator allowed it; `file:`, `gopher:`, `ftp:`, `data:` … never;
 * - no loopback, private, link-local (cloud metadata 169.254.169.254), CGNAT, multicast, reserved or
 *   documentation address, IPv4 or IPv6, literal or behind a DNS name, including IPv6 forms that
 *   embed such an IPv4 address (`::ffff:127.0.0.1`);
 * - a DNS name is checked at connection time: every address the name resolves to is checked, and the
 *   connection goes to the checked address (the `lookup` of the socket), so DNS rebinding between a
 *   check and the connection is not possible;
 * - redirects are followed by the guard itself (at most 5), each hop checked again; cross-origin hops
 *   lose every header that could carry a credential.
 *
 * Operators open it with `GATEHOUSE_ALLOW_PRIVATE_NETWORK=true` (development: anything goes) or
 * `GATEHOUSE_OUTBOUND_ALLOWLIST` (hosts, `host:port` or CIDRs that may be private and plain http).
 *
 * Why `node:http`/`node:https` and not undici: Node 20's global `fetch` is undici, but the `undici`
 * module itself (its `Agent` with `connect.lookup`) is not importable without adding the package.
 * The `http`/`https` agents take a `lookup` per request, which gives the same connection-time check
 * with public APIs only; this module turns their answer into a WHATWG `Response` (streamed body).
 *
 * @module
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import * as zlib from 'node:zlib';
import type { Logger } from '../logger.js';
import { cidrContains, formatAddress, parseAddress, parseCidr, specialAddressReason, type Cidr, type ParsedAddress } from './ip-address.js';

/** Most redirects one request follows. */
export const MAX_REDIRECTS = 5;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const USER_AGENT = 'Gatehouse';

/**
 * An outbound request the guard refused before any connection was made. The message names the host
 * and the reason, never a URL path or query (which may carry secrets).
 */
export class OutboundRequestRefusedError extends Error {
  readonly code = 'outbound_request_refused';

  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`Outbound request to ${host} refused: ${reason}.`);
    this.name = 'OutboundRequestRefusedError';
  }
}

/** Resolves a host name to its addresses (all of them). Tests inject one; the default is `dns.lookup`. */
export type HostResolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true });

// ---------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------

/** One `GATEHOUSE_OUTBOUND_ALLOWLIST` entry. */
export type AllowlistEntry =
  | { kind: 'host'; host: string; port: number | undefined }
  | { kind: 'subdomains'; suffix: string; port: number | undefined }
  | { kind: 'cidr'; cidr: Cidr };

/**
 * Parses one allow-list entry: a host (`mcp.internal`), `*.` and a domain (its subdomains), either
 * with `:port`, an address with a port (`127.0.0.1:8080`, `[::1]:8080`), or a CIDR / bare address
 * (`10.0.0.0/8`, `fd00::/8`, `10.1.2.3`). Throws an Error naming the entry when it is none of these.
 */
export function parseAllowlistEntry(raw: string): AllowlistEntry {
  const entry = raw.trim().toLowerCase();
  const cidr = parseCidr(entry);
  if (cidr) return { kind: 'cidr', cidr };
  if (entry.includes('/')) throw new Error(`"${raw}" is not a valid CIDR (e.g. 10.0.0.0/8)`);
  const withPort = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(entry);
  const hostPart = withPort ? withPort[1]! : entry;
  const port = withPort ? Number(withPort[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`"${raw}" has an invalid port`);
  const address = parseAddress(hostPart);
  if (address) return { kind: 'host', host: formatHost(address), port };
  const wildcard = hostPart.startsWith('*.');
  const name = (wildcard ? hostPart.slice(2) : hostPart).replace(/\.$/, '');
  if (!/^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(name)) {
    throw new Error(`"${raw}" is not a host name, host:port, address or CIDR`);
  }
  return wildcard ? { kind: 'subdomains', suffix: name, port } : { kind: 'host', host: name, port };
}

/** Parses a comma-separated allow-list; throws naming the first bad entry. */
export function parseAllowlist(value: string | undefined): AllowlistEntry[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map(parseAllowlistEntry);
}

function formatHost(address: ParsedAddress): string {
  return address.family === 4 ? formatAddress(address) : `[${formatAddress(address)}]`;
}

/** What {@link OutboundPolicy.checkUrl} leaves to connection time. */
export type UrlDecision = 'allowed' | 'check-resolved-addresses';

/** The rules of the guard, independent of any connection (so they can also validate URLs up front). */
export class OutboundPolicy {
  private readonly hostEntries: Array<Extract<AllowlistEntry, { kind: 'host' | 'subdomains' }>>;
  private readonly cidrs: Cidr[];

  constructor(
    readonly allowPrivateNetwork: boolean,
    readonly allowlist: readonly AllowlistEntry[] = [],
  ) {
    this.hostEntries = allowlist.filter((entry): entry is Extract<AllowlistEntry, { kind: 'host' | 'subdomains' }> => entry.kind !== 'cidr');
    this.cidrs = allowlist.flatMap((entry) => (entry.kind === 'cidr' ? [entry.cidr] : []));
  }

  /**
   * Checks what can be checked from the URL alone: the scheme, literal addresses, allow-listed names,
   * `localhost`. Throws {@link OutboundRequestRefusedError}; returns whether the addresses a name
   * resolves to must still be checked when connecting.
   */
  checkUrl(url: URL): UrlDecision {
    const host = normalizedHost(url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new OutboundRequestRefusedError(host || `a ${url.protocol} URL`, `the ${url.protocol} scheme is not allowed (only https:, and http: where the operator allows it)`);
    }
    if (this.allowPrivateNetwork || this.hostAllowListed(host, portOf(url))) return 'allowed';
    const address = parseAddress(host);
    if (address) {
      this.checkAddress(host, address, url.protocol, false);
      return 'allowed';
    }
    if (host === 'localhost' || host.endsWith('.localhost')) {
      throw new OutboundRequestRefusedError(host, 'the name is reserved for loopback (RFC 6761)');
    }
    if (url.protocol === 'http:' && this.cidrs.length === 0) throw plainHttpRefusal(host);
    return 'check-resolved-addresses';
  }

  /** Checks one address a name resolved to (or a literal address); throws when it is refused. */
  checkAddress(host: string, address: ParsedAddress, protocol: string, resolved: boolean): void {
    if (this.allowPrivateNetwork || this.cidrs.some((cidr) => cidrContains(cidr, address))) return;
    const reason = specialAddressReason(address);
    if (reason) {
      throw new OutboundRequestRefusedError(host, resolved ? `it resolves to ${formatAddress(address)}, ${reason}` : `${host} is ${reason}`);
    }
    if (protocol === 'http:') throw plainHttpRefusal(host);
  }

  private hostAllowListed(host: string, port: number): boolean {
    return this.hostEntries.some((entry) => {
      if (entry.port !== undefined && entry.port !== port) return false;
      return entry.kind === 'host' ? entry.host === host : host.endsWith(`.${entry.suffix}`);
    });
  }
}

function plainHttpRefusal(host: string): OutboundRequestRefusedError {
  return new OutboundRequestRefusedError(host, 'plain http: is not allowed (use https:, or put the host on GATEHOUSE_OUTBOUND_ALLOWLIST)');
}

/** The URL's host, lower case, without a trailing dot; IPv6 in brackets, normalized. */
function normalizedHost(url: URL): string {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const address = parseAddress(host);
  return address ? formatHost(address) : host;
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * A `lookup` for the socket of one request: resolves the name, refuses the connection unless every
 * address passes the policy, and hands the checked addresses to the socket.
 */
function guardedLookup(policy: OutboundPolicy | undefined, resolve: HostResolver, host: string, protocol: string): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        try {
          if (found.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
          const checked: LookupAddress[] = [];
          for (const entry of found) {
            const address = parseAddress(entry.address);
            if (!address) throw new OutboundRequestRefusedError(host, `it resolves to something that is not an IP address`);
            policy?.checkAddress(host, address, protocol, true);
            checked.push({ address: entry.address, family: address.family });
          }
          const family = options?.family === 'IPv4' ? 4 : options?.family === 'IPv6' ? 6 : options?.family;
          const usable = family === 4 || family === 6 ? checked.filter((entry) => entry.family === family) : checked;
          if (usable.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
          if (options?.all) callback(null, usable);
          else callback(null, usable[0]!.address, usable[0]!.family);
        } catch (error) {
          callback(error as NodeJS.ErrnoException, '', 0);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

// ---------------------------------------------------------------------------------------------------
// fetch
// ---------------------------------------------------------------------------------------------------

/** Options of {@link createGuardedFetch}. */
export interface GuardedFetchOptions {
  policy: OutboundPolicy;
  /** How names are resolved (tests inject one); default `dns.lookup` with all addresses. */
  resolve?: HostResolver | undefined;
  maxRedirects?: number | undefined;
  /** A TCP/TLS connection that takes longer fails (as undici's fetch does after 10 s). */
  connectTimeoutMs?: number | undefined;
  /** Told about every refusal (the server logs them). */
  onRefused?: ((error: OutboundRequestRefusedError) => void) | undefined;
}

/** A `fetch` behind the guard, plus a way to drop its pooled connections. */
export type GuardedFetch = typeof fetch & { destroy(): void };

/** Headers a cross-origin redirect keeps; every other one (credentials!) is dropped. */
const CROSS_ORIGIN_SAFE_HEADERS = new Set([
  'accept',
  'accept-language',
  'content-language',
  'content-type',
  'user-agent',
  'mcp-protocol-version',
  'last-event-id',
]);

/** Headers the guard sets itself. */
const CONNECTION_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer']);

const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * A WHATWG `fetch` that enforces `policy` on every request and every redirect hop. Redirect modes
 * keep their meaning: `manual` returns the 3xx response (oauth4webapi and the MCP transports follow
 * redirects themselves, through this fetch again), `error` fails, `follow` follows at most
 * {@link MAX_REDIRECTS} hops. Network failures reject with `TypeError('fetch failed')` as undici
 * does; refusals reject with {@link OutboundRequestRefusedError}; an aborted signal with its reason.
 */
export function createGuardedFetch(options: GuardedFetchOptions): GuardedFetch {
  const resolve = options.resolve ?? systemResolver;
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  } as const;

  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    signal?.throwIfAborted();
    let method = request.method.toUpperCase();
    let body: Buffer | undefined = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers = new Map<string, string>();
    request.headers.forEach((value, name) => {
      if (!CONNECTION_HEADERS.has(name)) headers.set(name, value);
    });
    if (!headers.has('accept')) headers.set('accept', '*/*');
    if (!headers.has('user-agent')) headers.set('user-agent', USER_AGENT);

    let url = new URL(request.url);
    for (let hop = 0; ; hop++) {
      let decision: UrlDecision;
      try {
        decision = options.policy.checkUrl(url);
      } catch (error) {
        if (error instanceof OutboundRequestRefusedError) options.onRefused?.(error);
        throw error;
      }
      // Names always resolve through the guard's resolver; they are checked unless allow-listed.
      const host = normalizedHost(url);
      const lookup = parseAddress(host)
        ? undefined
        : guardedLookup(decision === 'check-resolved-addresses' ? options.policy : undefined, resolve, host, url.protocol);
      let response: http.IncomingMessage;
      try {
        response = await send(url, method, headers, body, signal ?? undefined, lookup, agents[url.protocol as 'http:' | 'https:'], connectTimeoutMs);
      } catch (error) {
        if (error instanceof OutboundRequestRefusedError) options.onRefused?.(error);
        throw error;
      }
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      const isRedirect = [301, 302, 303, 307, 308].includes(status) && typeof location === 'string';
      if (!isRedirect || request.redirect === 'manual') {
        return toResponse(response, method, url, hop > 0, signal ?? undefined);
      }
      response.resume();
      if (request.redirect === 'error') throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
      if (hop >= maxRedirects) {
        const refusal = new OutboundRequestRefusedError(normalizedHost(url), `more than ${maxRedirects} redirects`);
        options.onRefused?.(refusal);
        throw refusal;
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new TypeError('fetch failed', { cause: new Error('invalid redirect location') });
      }
      if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        for (const name of BODY_HEADERS) headers.delete(name);
      }
      if (next.origin !== url.origin) {
        for (const name of [...headers.keys()]) if (!CROSS_ORIGIN_SAFE_HEADERS.has(name)) headers.delete(name);
      }
      url = next;
    }
  };

  return Object.assign(guarded as typeof fetch, {
    destroy() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  });
}

/** One HTTP exchange up to the response head. */
function send(
  url: URL,
  method: string,
  headers: Map<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
  lookup: LookupFunction | undefined,
  agent: http.Agent,
  connectTimeoutMs: number,
): Promise<http.IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const outgoing: Record<string, string> = Object.fromEntries(headers);
    if (body !== undefined) outgoing['content-length'] = String(body.length);
    else if (['POST', 'PUT', 'PATCH'].includes(method)) outgoing['content-length'] = '0';
    const requestOptions: https.RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method,
      headers: outgoing,
      agent,
      ...(lookup ? { lookup } : {}),
    };
    const request = (url.protocol === 'https:' ? https : http).request(requestOptions);
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      const reason = abortReason(signal);
      request.destroy();
      fail(reason);
    };
    const cleanup = () => {
      if (connectTimer) clearTimeout(connectTimer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => {
        request.destroy();
        fail(new TypeError('fetch failed', { cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) }));
      }, connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    request.on('error', (error) => {
      fail(error instanceof OutboundRequestRefusedError ? error : new TypeError('fetch failed', { cause: error }));
    });
    request.on('response', (response) => {
      if (settled) {
        response.destroy();
        return;
      }
      settled = true;
      cleanup();
      resolvePromise(response);
    });
    request.end(body);
  });
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The response head and a streamed body as a WHATWG `Response`. */
function toResponse(incoming: http.IncomingMessage, method: string, url: URL, redirected: boolean, signal: AbortSignal | undefined): Response {
  const status = incoming.statusCode ?? 0;
  if (status < 200 || status > 599) {
    incoming.destroy();
    throw new TypeError('fetch failed', { cause: new Error(`invalid status ${status}`) });
  }
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    try {
      headers.append(raw[index]!, raw[index + 1]!);
    } catch {
      // A header value fetch would not accept either: left out.
    }
  }
  let body: ReadableStream<Uint8Array> | null = null;
  if (method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
    incoming.resume();
  } else {
    body = streamOf(incoming, decoderFor(headers.get('content-encoding')), signal);
  }
  const response = new Response(body, { status, statusText: incoming.statusMessage ?? '', headers });
  Object.defineProperty(response, 'url', { value: url.href });
  Object.defineProperty(response, 'redirected', { value: redirected });
  return response;
}

function decoderFor(encoding: string | null): NodeJS.ReadWriteStream | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'deflate':
      return zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    default:
      return undefined;
  }
}

/**
 * A pull-based web stream over the node response (backpressure kept). A connection that ends before
 * the body does errors the stream with `TypeError('terminated')`, as undici does; an abort with the
 * signal's reason.
 */
function streamOf(incoming: http.IncomingMessage, decoder: NodeJS.ReadWriteStream | undefined, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const source: NodeJS.ReadableStream = decoder ? incoming.pipe(decoder) : incoming;
  let finished = false;
  let onAbort: (() => void) | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: unknown) => {
        if (finished) return;
        finished = true;
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        controller.error(error);
      };
      onAbort = () => {
        fail(abortReason(signal));
        incoming.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      source.on('data', (chunk: Buffer) => {
        if (finished) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) source.pause();
      });
      source.on('end', () => {
        if (finished) return;
        finished = true;
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        controller.close();
      });
      source.on('error', (error: Error) => fail(new TypeError('terminated', { cause: error })));
      incoming.on('aborted', () => fail(new TypeError('terminated', { cause: new Error('other side closed') })));
      incoming.on('close', () => {
        if (!incoming.complete) fail(new TypeError('terminated', { cause: new Error('other side closed') }));
      });
      source.pause();
    },
    pull() {
      source.resume();
    },
    cancel() {
      finished = true;
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      incoming.destroy();
    },
  });
}

// ---------------------------------------------------------------------------------------------------
// The server's fetch
// ---------------------------------------------------------------------------------------------------

/**
 * The fetch `gatehouse serve` uses for every outbound request: the guard with the operator's policy,
 * refusals logged (host and reason only).
 */
export function createServerFetch(
  config: { allowPrivateNetwork: boolean; outboundAllowlist: readonly AllowlistEntry[] },
  logger: Logger,
): GuardedFetch {
  return createGuardedFetch({
    policy: new OutboundPolicy(config.allowPrivateNetwork, config.outboundAllowlist),
    onRefused: (error) => logger.warn({ host: error.host, reason: error.reason }, 'outbound request refused'),
  });
}
