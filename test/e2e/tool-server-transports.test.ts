/**
 * Tool servers behind the other MCP transports: the legacy SSE transport, and a local command over
 * stdio that the operator configured in a providers file, with each user's API key in its
 * environment.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, Gatehouse } from '@gatehouse/sdk';
import { startInProcessGatehouse, tempDir, type InProcessGatehouse } from '../support/gatehouse.js';
import { createPublicToolProvider } from '../support/session-fixtures.js';
import type { ToolServer } from '../support/mcp-tool-server.js';

const TOOL_CALL_TIMEOUT_MS = 1_500;
const RESULT_CAP_BYTES = 256 * 1024;
const STDIO_SERVER = fileURLToPath(new URL('../support/fixtures/stdio-tool-server.mjs', import.meta.url));

function textOf(toolCall: { content: unknown }): string {
  return ((toolCall.content as Array<{ text?: string }>) ?? []).map((block) => block.text ?? '').join('');
}

/** Completes an API-key setup session the way the hosted form does, and returns the auth config id. */
async function pasteApiKey(gatehouse: Gatehouse, providerId: string, apiKey: string): Promise<string> {
  const setupSession = await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'api_key' });
  const form = await fetch(setupSession.url);
  const cookie = form.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())![1]!;
  await fetch(`${setupSession.url}/api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ api_key: apiKey, csrf_token: csrfToken }),
  });
  const completed = await gatehouse.waitForSetupSession([setupSession]);
  return completed.authConfig!.id;
}

describe('tool server transports', () => {
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let sse: { deploymentId: string; toolServer: ToolServer };
  let localDeploymentId: string;

  beforeAll(async () => {
    const providersFile = join(tempDir(), 'providers.yaml');
    writeFileSync(
      providersFile,
      [
        '- id: local-tools',
        '  name: Local Tools',
        '  authMethods:',
        '    - id: api_key',
        '      type: api_key',
        '      label: Local tools key',
        '      injection: { env: TOOL_API_KEY }',
        '  mcpServer:',
        '    transport: stdio',
        `    command: ${JSON.stringify(process.execPath)}`,
        `    args: [${JSON.stringify(STDIO_SERVER)}]`,
        '',
      ].join('\n'),
    );
    server = await startInProcessGatehouse({
      env: { GATEHOUSE_PROVIDERS_FILE: providersFile, GATEHOUSE_TOOL_CALL_TIMEOUT_MS: String(TOOL_CALL_TIMEOUT_MS), GATEHOUSE_TOOL_RESULT_MAX_BYTES: String(RESULT_CAP_BYTES) },
    });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    sse = await createPublicToolProvider(gatehouse, 'legacy-sse', 'sse');
    localDeploymentId = (await gatehouse.providers.deployments.create({ providerId: 'local-tools' })).id;
  });

  afterAll(async () => {
    await server?.close();
    await sse?.toolServer.close();
  });

  it('calls tools of a legacy SSE tool server', async () => {
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: sse.deploymentId }] });
    const result = await gatehouse.sessions.toolCalls.create(session.id, { name: 'legacy-sse__echo', arguments: { text: 'over sse' } });
    expect(result.status).toBe('succeeded');
    expect(textOf(result)).toContain('over sse');
    expect(sse.toolServer.calls().map((record) => record.tool)).toContain('echo');
  });

  it('runs an operator-configured stdio tool server with each user\'s key in its environment', async () => {
    const aliceConfig = await pasteApiKey(gatehouse, 'local-tools', 'alice-local-key-1111');
    const bobConfig = await pasteApiKey(gatehouse, 'local-tools', 'bob-local-key-2222');
    const aliceSession = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: localDeploymentId, providerAuthConfigId: aliceConfig }] });
    const bobSession = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: localDeploymentId, providerAuthConfigId: bobConfig }] });

    expect((await gatehouse.sessions.tools.list(aliceSession.id)).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['local-tools__whoami', 'local-tools__hang']));
    expect(textOf(await gatehouse.sessions.toolCalls.create(aliceSession.id, { name: 'local-tools__whoami' }))).toContain('api-key:1111');
    expect(textOf(await gatehouse.sessions.toolCalls.create(bobSession.id, { name: 'local-tools__whoami' }))).toContain('api-key:2222');

    const hung = await gatehouse.sessions.toolCalls.create(aliceSession.id, { name: 'local-tools__hang' });
    expect(hung.error?.code).toBe('tool_timeout');
    expect(textOf(await gatehouse.sessions.toolCalls.create(aliceSession.id, { name: 'local-tools__echo', arguments: { text: 'after hang' } }))).toContain('after hang');
  });

  describe('faults over legacy SSE', () => {
    const call = (sessionId: string, name: string, args: Record<string, unknown> = {}) => gatehouse.sessions.toolCalls.create(sessionId, { name, arguments: args });

    it('a result well over the cap is a clear tool_result_too_large, and the next call on the provider works', async () => {
      const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: sse.deploymentId }] });
      expect((await call(session.id, 'legacy-sse__echo', { text: 'warm' })).status).toBe('succeeded');
      const connectionsBefore = sse.toolServer.connections();
      const huge = await call(session.id, 'legacy-sse__huge', { megabytes: 4 });
      expect(huge).toMatchObject({ status: 'failed', isError: true, error: { code: 'tool_result_too_large' } });
      // Counted in bytes: 512 KiB of 3-byte characters is under the cap in UTF-16 units, twice over it in bytes.
      const multibyte = await call(session.id, 'legacy-sse__huge', { megabytes: 0.5, char: '€' });
      expect(multibyte).toMatchObject({ status: 'failed', error: { code: 'tool_result_too_large' } });
      const after = await call(session.id, 'legacy-sse__echo', { text: 'after huge' });
      expect(after.status).toBe('succeeded');
      expect(textOf(after)).toContain('after huge');
      // Only the call failed: the shared SSE connection went on serving.
      expect(sse.toolServer.connections()).toBe(connectionsBefore);
    });

    it('a server that drops the stream mid-call is tool_server_unavailable at once, and the next call reconnects', async () => {
      const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: sse.deploymentId }] });
      expect((await call(session.id, 'legacy-sse__echo', { text: 'warm' })).status).toBe('succeeded');
      const connectionsBefore = sse.toolServer.connections();
      const died = await call(session.id, 'legacy-sse__die');
      expect(died).toMatchObject({ status: 'failed', error: { code: 'tool_server_unavailable' } });
      const after = await call(session.id, 'legacy-sse__echo', { text: 'after die' });
      expect(after.status).toBe('succeeded');
      expect(textOf(after)).toContain('after die');
      expect(sse.toolServer.connections()).toBe(connectionsBefore + 1);
    });
  });

  describe('faults over stdio', () => {
    let sessionId: string;
    beforeAll(async () => {
      const config = await pasteApiKey(gatehouse, 'local-tools', 'carol-local-key-3333');
      sessionId = (await gatehouse.sessions.create({ providers: [{ providerDeploymentId: localDeploymentId, providerAuthConfigId: config }] })).id;
    });
    const call = (name: string, args: Record<string, unknown> = {}) => gatehouse.sessions.toolCalls.create(sessionId, { name, arguments: args });

    it('a result over the cap, counted in bytes, is tool_result_too_large, and the next call works', async () => {
      // 512 KiB of "€" is 3 bytes per character: under the cap in UTF-16 units, twice over it in bytes.
      const huge = await call('local-tools__huge', { megabytes: 0.5, char: '€' });
      expect(huge).toMatchObject({ status: 'failed', error: { code: 'tool_result_too_large' } });
      const ascii = await call('local-tools__huge', { megabytes: 8 });
      expect(ascii).toMatchObject({ status: 'failed', error: { code: 'tool_result_too_large' } });
      expect(textOf(await call('local-tools__echo', { text: 'after huge' }))).toContain('after huge');
    });

    it('a child that exits mid-call is tool_server_unavailable, and the next call starts a new one', async () => {
      const died = await call('local-tools__die');
      expect(died).toMatchObject({ status: 'failed', error: { code: 'tool_server_unavailable' } });
      expect(textOf(await call('local-tools__whoami'))).toContain('api-key:3333');
    });
  });

  it('refuses a stdio tool server through the API: only the operator may run commands', async () => {
    const error = await gatehouse.providers
      .create({ id: 'sneaky', name: 'Sneaky', authMethods: [], mcpServer: { transport: 'stdio', command: 'sh', args: ['-c', 'id'] } as never })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(/provider definition is not valid|operator/);
  });

  it('does not show the command of a local tool server to API callers', async () => {
    const provider = await gatehouse.providers.get('local-tools');
    expect(provider.mcpServer).toEqual({ url: null, transport: 'stdio' });
    expect(JSON.stringify(provider)).not.toContain('stdio-tool-server.mjs');
  });
});
