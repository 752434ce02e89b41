/**
 * Proves the gateway's counterparts with real parts: the MCP tool server (./mcp-tool-server.ts)
 * with the MCP SDK's clients (Streamable HTTP, legacy SSE), a bearer token from a real
 * oidc-provider login (./upstream.ts, Chromium via ./browser.ts) checked by introspection, the
 * stdio fixture (./fixtures/stdio-tool-server.mjs), and the Anthropic stub (./anthropic-stub.ts)
 * with the real `@anthropic-ai/sdk`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import Anthropic from '@anthropic-ai/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';

import { callEachToolOnceThenSummarize, startAnthropicStub, toolResultsOf, type AnthropicStub } from './anthropic-stub.js';
import { launchBrowser, loginAndConsentAtUpstream } from './browser.js';
import { startToolServer, TEST_PNG_BASE64, type ToolServer } from './mcp-tool-server.js';
import { startUpstream, type Upstream } from './upstream.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const STDIO_FIXTURE = fileURLToPath(new URL('./fixtures/stdio-tool-server.mjs', import.meta.url));

const APP_CLIENT = { clientId: 'tool-servers-app', clientSecret: 'tool-servers-app-secret-0123456789' };
const INTROSPECTION_CLIENT = { clientId: 'tool-server-rs', clientSecret: 'tool-server-rs-secret-0123456789' };
const API_KEYS = ['sk-test-aaaa1111', 'sk-test-bbbb2222'];

const ALL_TOOLS = ['add_note', 'die', 'echo', 'fail', 'hang', 'huge', 'image', 'list_notes', 'sleep', 'whoami'];

/** A loopback redirect_uri that hands over the callback URLs it receives. */
async function startCallbackServer(): Promise<{ url: string; next(): Promise<URL>; close(): Promise<void> }> {
  const received: URL[] = [];
  const waiters: Array<(url: URL) => void> = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(url);
    else received.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>callback</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    next: () => {
      const ready = received.shift();
      return ready ? Promise.resolve(ready) : new Promise<URL>((resolve) => waiters.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

const opened: Client[] = [];
async function connectHttp(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'tool-servers-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  opened.push(client);
  return client;
}
async function connectSse(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'tool-servers-test', version: '1.0.0' });
  await client.connect(new SSEClientTransport(new URL(url), { requestInit: { headers } }));
  opened.push(client);
  return client;
}

describe('test/support MCP tool servers and Anthropic stub', () => {
  let upstream: Upstream;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let browser: Browser;
  let bearerServer: ToolServer;
  let keyServer: ToolServer;
  let sseServer: ToolServer;
  let stub: AnthropicStub | undefined;
  let aliceToken: string;

  beforeAll(async () => {
    callback = await startCallbackServer();
    [upstream, browser] = await Promise.all([
      startUpstream({
        clients: [
          { ...APP_CLIENT, redirectUris: [callback.url] },
          { ...INTROSPECTION_CLIENT, redirectUris: ['http://127.0.0.1/unused'] },
        ],
      }),
      launchBrowser(),
    ]);
    [bearerServer, keyServer, sseServer] = await Promise.all([
      startToolServer({
        name: 'bearer-tools',
        auth: { type: 'bearer-introspection', introspectionUrl: upstream.introspectionEndpoint, ...INTROSPECTION_CLIENT },
      }),
      startToolServer({ name: 'key-tools', auth: { type: 'api-key', header: 'x-api-key', validKeys: API_KEYS } }),
      startToolServer({ name: 'sse-tools', auth: { type: 'api-key', validKeys: API_KEYS }, transport: 'sse' }),
    ]);

    // A real authorization code + PKCE flow in Chromium, as the gateway's users go through it.
    const issuer = new URL(upstream.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
    const client: oauth.Client = { client_id: APP_CLIENT.clientId };
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint!);
    authorizationUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: APP_CLIENT.clientId,
      redirect_uri: callback.url,
      scope: 'openid profile',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString();
    const context = await browser.newContext();
    try {
      const arrived = callback.next();
      await loginAndConsentAtUpstream(await context.newPage(), { login: 'alice', url: authorizationUrl.href });
      const params = oauth.validateAuthResponse(as, client, await arrived, state);
      const response = await oauth.authorizationCodeGrantRequest(
        as, client, oauth.ClientSecretBasic(APP_CLIENT.clientSecret), params, callback.url, codeVerifier, insecure,
      );
      aliceToken = (await oauth.processAuthorizationCodeResponse(as, client, response)).access_token;
    } finally {
      await context.close();
    }
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    await Promise.allSettled([
      bearerServer?.close(), keyServer?.close(), sseServer?.close(), stub?.close(),
      browser?.close(), upstream?.close(), callback?.close(),
    ]);
  });

  describe('Streamable HTTP with bearer tokens checked by introspection', () => {
    it('lists every tool and names the login as the subject', async () => {
      const client = await connectHttp(bearerServer.url, { authorization: `Bearer ${aliceToken}` });
      expect(client.getServerVersion()?.name).toBe('bearer-tools');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
      expect(tools.find((t) => t.name === 'echo')?.inputSchema).toMatchObject({
        type: 'object', properties: { text: { type: 'string' } }, required: ['text'],
      });

      expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('alice');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi there' } }))).toBe('hi there');
      await client.callTool({ name: 'add_note', arguments: { text: 'buy milk' } });
      expect(JSON.parse(textOf(await client.callTool({ name: 'list_notes', arguments: {} })))).toEqual(['buy milk']);
      expect(bearerServer.notes('alice')).toEqual(['buy milk']);

      expect(bearerServer.calls().map((c) => [c.tool, c.subject])).toEqual([
        ['whoami', 'alice'], ['echo', 'alice'], ['add_note', 'alice'], ['list_notes', 'alice'],
      ]);
      expect(bearerServer.calls()[1]).toMatchObject({ args: { text: 'hi there' }, at: expect.any(Number) });
      expect(bearerServer.connections()).toBe(1);
      expect(bearerServer.activeConnections()).toBe(1);
    });

    it('answers 401 invalid_token to a token that is not active, and to a revoked one', async () => {
      const before = bearerServer.authFailures();
      const response = await fetch(bearerServer.url, {
        method: 'POST',
        headers: { authorization: 'Bearer not-a-real-token', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      await response.body?.cancel();

      const missing = await fetch(bearerServer.url, { method: 'POST', body: '{}' });
      expect(missing.status).toBe(401);
      await missing.body?.cancel();

      await expect(connectHttp(bearerServer.url, { authorization: 'Bearer not-a-real-token' })).rejects.toMatchObject({ code: 401 });
      expect(bearerServer.authFailures()).toBe(before + 3);

      // Every request is introspected: once the user revokes the app, an open session gets 401 too.
      const client = await connectHttp(bearerServer.url, { authorization: `Bearer ${aliceToken}` });
      expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('alice');
      expect(upstream.revokeGrantsFor('alice')).toBe(1);
      await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({ code: 401 });
      expect(bearerServer.authFailures()).toBe(before + 4);
    });
  });

  describe('Streamable HTTP with API keys: faults', () => {
    it('refuses a wrong key; each key is its own subject with its own notes', async () => {
      const before = keyServer.authFailures();
      await expect(connectHttp(keyServer.url, { 'x-api-key': 'sk-wrong-9999' })).rejects.toMatchObject({ code: 401 });
      await expect(connectHttp(keyServer.url)).rejects.toMatchObject({ code: 401 });
      expect(keyServer.authFailures()).toBe(before + 2);

      const [first, second] = await Promise.all(API_KEYS.map((key) => connectHttp(keyServer.url, { 'x-api-key': key })));
      expect(textOf(await first!.callTool({ name: 'whoami', arguments: {} }))).toBe('api-key:1111');
      expect(textOf(await second!.callTool({ name: 'whoami', arguments: {} }))).toBe('api-key:2222');
      await first!.callTool({ name: 'add_note', arguments: { text: 'first only' } });
      expect(JSON.parse(textOf(await first!.callTool({ name: 'list_notes', arguments: {} })))).toEqual(['first only']);
      expect(JSON.parse(textOf(await second!.callTool({ name: 'list_notes', arguments: {} })))).toEqual([]);
    });

    it('serves many concurrent clients', async () => {
      const before = keyServer.connections();
      const clients = await Promise.all(
        Array.from({ length: 20 }, () => connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! })),
      );
      const echoes = await Promise.all(clients.map((c, i) => c.callTool({ name: 'echo', arguments: { text: `n${i}` } })));
      expect(echoes.map(textOf)).toEqual(clients.map((_c, i) => `n${i}`));
      expect(keyServer.connections()).toBe(before + 20);
      await Promise.all(clients.map((c) => c.close()));
    });

    it('hang: cancelled when the client aborts, and recorded', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      const controller = new AbortController();
      const calling = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal });
      const settled = expect(calling).rejects.toThrow();
      await keyServer.waitForCalls('hang', 1);
      controller.abort(new Error('user gave up'));
      await settled;
      await keyServer.waitForCancellations('hang', 1);
      expect(keyServer.cancellations()).toEqual(['hang']);
      // The session is still good.
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    });

    it('sleep: answers after ms, and is cancelled by a client-side timeout', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      expect(textOf(await client.callTool({ name: 'sleep', arguments: { ms: 5 } }))).toBe('slept 5 ms');
      await expect(
        client.callTool({ name: 'sleep', arguments: { ms: 600_000 } }, undefined, { timeout: 200 }),
      ).rejects.toMatchObject({ code: -32001 }); // RequestTimeout
      await keyServer.waitForCancellations('sleep', 1);
    });

    it('die: the connection is dropped without an answer, and the call fails at once', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      const before = keyServer.calls().filter((c) => c.tool === 'die').length;
      // A generous MCP timeout: the failure must come from the dropped connection, not from it.
      const failure = await client.callTool({ name: 'die', arguments: {} }, undefined, { timeout: 30_000 }).then(
        () => undefined,
        (error: unknown) => error as { code?: unknown },
      );
      expect(failure).toBeInstanceOf(Error);
      expect(failure?.code).not.toBe(-32001);
      expect(keyServer.calls().filter((c) => c.tool === 'die')).toHaveLength(before + 1);
      // Other calls (new connections) still work.
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'alive' } }))).toBe('alive');
    });

    it('die afterHeaders: the response stream breaks mid-call; only a timeout ends the call', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      const before = keyServer.calls().filter((c) => c.tool === 'die').length;
      await expect(
        client.callTool({ name: 'die', arguments: { afterHeaders: true } }, undefined, { timeout: 300 }),
      ).rejects.toMatchObject({ code: -32001 });
      expect(keyServer.calls().filter((c) => c.tool === 'die')).toHaveLength(before + 1);
    });

    it('huge, fail and image', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      expect(textOf(await client.callTool({ name: 'huge', arguments: { megabytes: 5 } }))).toHaveLength(5 * 1024 * 1024);

      const failed = (await client.callTool({ name: 'fail', arguments: { message: 'nope' } })) as CallToolResult;
      expect(failed).toMatchObject({ isError: true, content: [{ type: 'text', text: 'nope' }] });

      const image = (await client.callTool({ name: 'image', arguments: {} })) as CallToolResult;
      expect(image.content).toEqual([{ type: 'image', data: TEST_PNG_BASE64, mimeType: 'image/png' }]);
      expect(Buffer.from(TEST_PNG_BASE64, 'base64').subarray(1, 4).toString('latin1')).toBe('PNG');
    });

    it('setDown: 503 to everything until it is back', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      keyServer.setDown(true);
      try {
        const response = await fetch(keyServer.url, { method: 'POST', headers: { 'x-api-key': API_KEYS[0]! }, body: '{}' });
        expect(response.status).toBe(503);
        await response.body?.cancel();
        await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toMatchObject({ code: 503 });
      } finally {
        keyServer.setDown(false);
      }
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
    });

    it('forbid: 403 with the WWW-Authenticate error and the reason, for that tool only, until lifted', async () => {
      const client = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      const before = keyServer.forbiddenAnswers();
      keyServer.forbid('echo', { error: 'insufficient_scope', reason: 'needs the echo:write scope' });
      try {
        const refused = await client.callTool({ name: 'echo', arguments: { text: 'x' } }).catch((error: unknown) => error);
        expect(refused).toMatchObject({ code: 403 });
        expect(String((refused as Error).message)).toContain('needs the echo:write scope');
        expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe(`api-key:${API_KEYS[0]!.slice(-4)}`);
      } finally {
        keyServer.forbid('echo', null);
      }
      expect(keyServer.forbiddenAnswers()).toBe(before + 1);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'allowed' } }))).toBe('allowed');
    });
  });

  describe('no auth, extra tools', () => {
    it('calls anonymous, and serves provider-specific tools next to the built-in ones', async () => {
      const server = await startToolServer({
        name: 'github',
        extraTools: [
          {
            name: 'create_issue',
            description: 'Creates an issue.',
            inputSchema: { title: z.string() },
            handler: (args, { subject }) => ({ content: [{ type: 'text', text: `${subject} created "${String(args.title)}"` }] }),
          },
        ],
      });
      try {
        const client = await connectHttp(server.url);
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name).sort()).toEqual([...ALL_TOOLS, 'create_issue'].sort());
        expect(tools.find((t) => t.name === 'create_issue')?.inputSchema).toMatchObject({ required: ['title'] });
        expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('anonymous');
        expect(textOf(await client.callTool({ name: 'create_issue', arguments: { title: 'Bug' } }))).toBe('anonymous created "Bug"');
        expect(server.calls().map((c) => c.tool)).toEqual(['whoami', 'create_issue']);
        await client.close();
      } finally {
        await server.close();
      }
    });
  });

  describe('legacy SSE transport', () => {
    it('lists and calls tools, refuses a wrong key, cancels hang, fails die', async () => {
      expect(sseServer.url).toMatch(/\/sse$/);
      await expect(connectSse(sseServer.url, { 'x-api-key': 'sk-wrong-0000' })).rejects.toThrow();
      expect(sseServer.authFailures()).toBeGreaterThanOrEqual(1);

      const client = await connectSse(sseServer.url, { 'x-api-key': API_KEYS[1]! });
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
      expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('api-key:2222');
      expect(sseServer.connections()).toBe(1);

      const controller = new AbortController();
      const hanging = expect(client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal })).rejects.toThrow();
      await sseServer.waitForCalls('hang', 1);
      controller.abort();
      await hanging;
      await sseServer.waitForCancellations('hang', 1);

      const failure = await client.callTool({ name: 'die', arguments: {} }, undefined, { timeout: 30_000 }).then(
        () => undefined,
        (error: unknown) => error as { code?: unknown },
      );
      expect(failure).toBeInstanceOf(Error);
      expect(failure?.code).not.toBe(-32001);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here');
    });
  });

  describe('stdio fixture', () => {
    it('runs as a local command: whoami from TOOL_API_KEY, echo, hang cancelled', async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [STDIO_FIXTURE],
        env: { PATH: process.env.PATH ?? '', TOOL_API_KEY: 'sk-local-cafe9876' },
        stderr: 'pipe',
      });
      const events: Array<{ event: string; tool?: string }> = [];
      const waiters: Array<() => void> = [];
      let buffered = '';
      transport.stderr?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          try {
            events.push(JSON.parse(line) as { event: string; tool?: string });
          } catch {
            continue;
          }
          for (const wake of waiters.splice(0)) wake();
        }
      });
      const eventSeen = async (event: string, tool: string) => {
        while (!events.some((e) => e.event === event && e.tool === tool)) await new Promise<void>((r) => waiters.push(r));
      };

      const client = new Client({ name: 'tool-servers-test', version: '1.0.0' });
      await client.connect(transport);
      opened.push(client);
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['die', 'echo', 'hang', 'huge', 'whoami']);
      expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('api-key:9876');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'local' } }))).toBe('local');

      const controller = new AbortController();
      const hanging = expect(client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal })).rejects.toThrow();
      await eventSeen('call', 'hang');
      controller.abort();
      await hanging;
      await eventSeen('cancelled', 'hang');
      const huge = textOf(await client.callTool({ name: 'huge', arguments: { megabytes: 0.25, char: '€' } }));
      expect(Buffer.byteLength(huge)).toBe(256 * 1024 - ((256 * 1024) % 3));
      expect(huge.length).toBe(Math.round((256 * 1024) / 3));

      const closed = new Promise<void>((resolve) => {
        client.onclose = () => resolve();
      });
      await expect(client.callTool({ name: 'die', arguments: {} })).rejects.toThrow(/closed/i);
      await eventSeen('call', 'die');
      await closed;
    });
  });

  describe('Anthropic stub with the real SDK', () => {
    it('tools in, tool_use out, then text after tool_result (with is_error)', async () => {
      stub = await startAnthropicStub(callEachToolOnceThenSummarize([/^keys__(whoami|echo|fail)$/]));
      const mcp = await connectHttp(keyServer.url, { 'x-api-key': API_KEYS[0]! });
      const { tools: mcpTools } = await mcp.listTools();
      // Names as a gateway might give them.
      const tools: Anthropic.Tool[] = mcpTools.map((t) => ({
        name: `keys__${t.name}`,
        description: t.description ?? '',
        input_schema: t.inputSchema as Anthropic.Tool.InputSchema,
      }));

      for (const anthropic of [
        new Anthropic({ apiKey: 'test', baseURL: stub.url, maxRetries: 0 }),
        new Anthropic({ authToken: 'test-bearer', baseURL: stub.url, maxRetries: 0 }),
      ]) {
        const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Use the tools.' }];
        const first = await anthropic.messages.create({ model: 'claude-test', max_tokens: 1024, tools, messages });
        expect(first).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-test', stop_reason: 'tool_use' });
        const uses = first.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
        expect(uses.map((u) => u.name)).toEqual(['keys__whoami', 'keys__echo', 'keys__fail']);
        expect(uses.find((u) => u.name === 'keys__echo')?.input).toEqual({ text: 'test' });
        expect(new Set(uses.map((u) => u.id)).size).toBe(3);
        for (const use of uses) expect(use.id).toMatch(/^toolu_/);

        const results: Anthropic.ToolResultBlockParam[] = [];
        for (const use of uses) {
          const result = (await mcp.callTool({ name: use.name.replace(/^keys__/, ''), arguments: use.input as Record<string, unknown> })) as CallToolResult;
          results.push({ type: 'tool_result', tool_use_id: use.id, content: textOf(result), ...(result.isError ? { is_error: true } : {}) });
        }
        messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: results });
        const second = await anthropic.messages.create({ model: 'claude-test', max_tokens: 1024, tools, messages });
        expect(second.stop_reason).toBe('end_turn');
        expect(second.content).toEqual([{ type: 'text', text: 'api-key:1111\ntest\nthe tool failed on purpose', citations: null }]);
      }

      const requests = stub.requests();
      expect(requests).toHaveLength(4);
      // The SDK sends `apiKey` as x-api-key or as a bearer token, depending on its version.
      expect(['test', 'Bearer test']).toContain(requests[0]!.headers['x-api-key'] ?? requests[0]!.headers.authorization);
      expect(requests[2]!.headers.authorization).toBe('Bearer test-bearer');
      expect(requests[0]!.body.tools?.map((t) => ('name' in t ? t.name : undefined))).toEqual(tools.map((t) => t.name));
      expect(toolResultsOf(requests[1]!.body).map((r) => r.is_error ?? false)).toEqual([false, false, true]);

      // x-api-key alone is accepted too.
      const withKey = await fetch(`${stub.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(withKey.status).toBe(200);
      expect(await withKey.json()).toMatchObject({ type: 'message', stop_reason: 'end_turn', content: [{ type: 'text', text: 'no matching tools' }] });

      // An unauthenticated request is refused like the real API does.
      const bare = await fetch(`${stub.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) });
      expect(bare.status).toBe(401);
      expect(await bare.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    });
  });
});
