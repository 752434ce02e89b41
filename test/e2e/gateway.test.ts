/**
 * Provider sessions: the tools of several providers, each acting with the end user's own
 * credentials, through the REST API and through the session's MCP endpoint; and every tool-server
 * fault becomes a clear tool error while the session keeps serving its other tools.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ConflictError, Gatehouse, type Session } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';
import * as z from 'zod';
import {
  authorizeUser,
  createApiKeyToolProvider,
  createOAuthToolProvider,
  createPublicToolProvider,
} from '../support/session-fixtures.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const TOOL_CALL_TIMEOUT_MS = 1_500;
const RESULT_CAP_BYTES = 256 * 1024;
const OPERATOR_API_KEY = 'search-operator-key-7f3a';

function textOf(toolCall: { content: unknown }): string {
  return ((toolCall.content as Array<{ type: string; text?: string }>) ?? []).map((block) => block.text ?? '').join('');
}

describe('provider sessions', () => {
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;
  let notes: { deploymentId: string; toolServer: ToolServer; providerId: string };
  let search: { deploymentId: string; toolServer: ToolServer };
  let publicTools: { deploymentId: string; toolServer: ToolServer };
  let aliceAuthConfigId: string;
  let bobAuthConfigId: string;
  const issuedTokens: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [] });
    upstream.setResponseOverride((observed) => {
      const body = observed.body as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token']) if (typeof body?.[key] === 'string') issuedTokens.push(body[key] as string);
      return undefined;
    });
    server = await startInProcessGatehouse({
      env: { GATEHOUSE_TOOL_CALL_TIMEOUT_MS: String(TOOL_CALL_TIMEOUT_MS), GATEHOUSE_TOOL_RESULT_MAX_BYTES: String(RESULT_CAP_BYTES) },
    });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    browser = await launchBrowser();
    notes = await createOAuthToolProvider(gatehouse, upstream, 'notes');
    search = await createApiKeyToolProvider(gatehouse, 'search', OPERATOR_API_KEY);
    publicTools = await createPublicToolProvider(gatehouse, 'public-tools');
    aliceAuthConfigId = await authorizeUser(gatehouse, browser, 'notes', 'alice');
    bobAuthConfigId = await authorizeUser(gatehouse, browser, 'notes', 'bob');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([notes?.toolServer.close(), search?.toolServer.close(), publicTools?.toolServer.close(), upstream?.close()]);
  });

  const sessionFor = (authConfigId: string) =>
    gatehouse.sessions.create({
      providers: [
        { providerDeploymentId: notes.deploymentId, providerAuthConfigId: authConfigId },
        { providerDeploymentId: search.deploymentId },
        { providerDeploymentId: publicTools.deploymentId },
      ],
    });
  const call = (session: Session, name: string, args: Record<string, unknown> = {}) => gatehouse.sessions.toolCalls.create(session.id, { name, arguments: args });

  it('merges the tools of three providers under valid, collision-free names', async () => {
    const first = await sessionFor(aliceAuthConfigId);
    const { tools } = await gatehouse.sessions.tools.list(first.id);
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['notes__whoami', 'search__whoami', 'public-tools__echo']));
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(new Set(names).size).toBe(names.length);
    const whoami = tools.find((tool) => tool.name === 'notes__whoami')!;
    expect(whoami).toMatchObject({ providerId: 'notes', originalName: 'whoami', providerDeploymentId: notes.deploymentId });
  });

  it('gives a deployment\'s tool the same name in every session, whatever other providers the session has', async () => {
    const second = await gatehouse.providers.deployments.create({ providerId: 'public-tools' });
    const namesIn = async (deploymentIds: string[]) => {
      const session = await gatehouse.sessions.create({ providers: deploymentIds.map((providerDeploymentId) => ({ providerDeploymentId })) });
      const { tools } = await gatehouse.sessions.tools.list(session.id);
      return new Map(tools.map((tool) => [`${tool.providerDeploymentId}/${tool.originalName}`, tool.name]));
    };
    const primaryOnly = await namesIn([publicTools.deploymentId]);
    const secondOnly = await namesIn([second.id]);
    const both = await namesIn([second.id, publicTools.deploymentId, search.deploymentId]);
    expect(primaryOnly.get(`${publicTools.deploymentId}/echo`)).toBe('public-tools__echo');
    for (const [key, name] of [...primaryOnly, ...secondOnly]) expect(both.get(key)).toBe(name);
    expect(secondOnly.get(`${second.id}/echo`)).toMatch(/^public-tools_[0-9a-f]{8}__echo$/);
    expect(new Set(both.values()).size).toBe(both.size);

    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: second.id }, { providerDeploymentId: publicTools.deploymentId }] });
    const echoed = await call(session, secondOnly.get(`${second.id}/echo`)!, { text: 'from the second deployment' });
    expect(textOf(echoed)).toContain('from the second deployment');
  });

  it('calls a tool with a long name through a provider whose id is 63 characters long', async () => {
    const providerId = `long-${'provider-id-'.repeat(5)}`.slice(0, 63);
    const toolName = 'create_an_issue_in_the_tracker_with_a_title_and_a_very_long_body_text';
    const toolServer = await startToolServer({
      name: providerId,
      extraTools: [{ name: toolName, inputSchema: { title: z.string() }, handler: (args) => ({ content: [{ type: 'text', text: `created ${String(args.title)}` }] }) }],
    });
    try {
      await gatehouse.providers.create({ id: providerId, name: 'Long Id', authMethods: [], mcpServer: { url: toolServer.url } });
      const deployment = await gatehouse.providers.deployments.create({ providerId });
      const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deployment.id }, { providerDeploymentId: publicTools.deploymentId }] });
      const { tools } = await gatehouse.sessions.tools.list(session.id);
      const exposed = tools.filter((tool) => tool.providerId === providerId);
      expect(exposed.length).toBeGreaterThan(1);
      for (const tool of exposed) expect(tool.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      const long = exposed.find((tool) => tool.originalName === toolName)!;
      const created = await call(session, long.name, { title: 'crash' });
      expect(created).toMatchObject({ status: 'succeeded', originalName: toolName, providerId });
      expect(textOf(created)).toBe('created crash');
      const whoami = exposed.find((tool) => tool.originalName === 'whoami')!;
      expect((await call(session, whoami.name)).status).toBe('succeeded');
    } finally {
      await toolServer.close();
    }
  });

  it('acts as the user who authorized, and keeps two users apart', async () => {
    const aliceSession = await sessionFor(aliceAuthConfigId);
    const bobSession = await sessionFor(bobAuthConfigId);
    expect(textOf(await call(aliceSession, 'notes__whoami'))).toContain('alice');
    expect(textOf(await call(bobSession, 'notes__whoami'))).toContain('bob');

    await call(aliceSession, 'notes__add_note', { text: 'alice-private-note' });
    expect(textOf(await call(aliceSession, 'notes__list_notes'))).toContain('alice-private-note');
    expect(textOf(await call(bobSession, 'notes__list_notes'))).not.toContain('alice-private-note');
    expect(notes.toolServer.notes('bob')).toEqual([]);
  });

  it('uses the deployment\'s own API key for a provider without per-user auth', async () => {
    const session = await sessionFor(aliceAuthConfigId);
    const result = await call(session, 'search__whoami');
    expect(result.status).toBe('succeeded');
    expect(textOf(result)).toContain(`api-key:${OPERATOR_API_KEY.slice(-4)}`);
  });

  it("uses a deployment's new API key from the very next call once the operator changes it", async () => {
    const [oldKey, newKey] = ['operator-key-old-1111', 'operator-key-new-2222'];
    const toolServer = await startToolServer({ name: 'rekeyed', auth: { type: 'api-key', validKeys: [oldKey, newKey] } });
    try {
      await gatehouse.providers.create({
        id: 'rekeyed',
        name: 'Rekeyed',
        authMethods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
        mcpServer: { url: toolServer.url },
      });
      const deployment = await gatehouse.providers.deployments.create({ providerId: 'rekeyed', credentials: { apiKey: oldKey } });
      const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deployment.id }] });
      expect(textOf(await call(session, 'rekeyed__whoami'))).toContain('api-key:1111');
      await gatehouse.providers.deployments.update(deployment.id, { credentials: { apiKey: newKey } });
      expect(textOf(await call(session, 'rekeyed__whoami'))).toContain('api-key:2222');
    } finally {
      await toolServer.close();
    }
  });

  it('refuses a session for a provider that needs the user and got no auth config', async () => {
    const error = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: notes.deploymentId }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(/acts for a user: pass provider_auth_config_id/);
  });

  it('refuses an auth config of another provider', async () => {
    const error = await gatehouse.sessions
      .create({ providers: [{ providerDeploymentId: publicTools.deploymentId, providerAuthConfigId: aliceAuthConfigId }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(/is for provider "notes"/);
  });

  describe('faults become tool errors, and the session keeps serving', () => {
    let session: Session;
    beforeAll(async () => {
      session = await sessionFor(aliceAuthConfigId);
    });

    const stillServes = async () => {
      const echo = await call(session, 'public-tools__echo', { text: 'still here' });
      expect(echo.status).toBe('succeeded');
      expect(textOf(echo)).toContain('still here');
    };

    it('a hanging tool times out, and the tool server is told to cancel', async () => {
      const result = await call(session, 'notes__hang');
      expect(result).toMatchObject({ status: 'failed', isError: true, error: { code: 'tool_timeout' } });
      await notes.toolServer.waitForCancellations('hang', 1);
      await stillServes();
    });

    it('a tool server that dies mid-call is reported as unavailable', async () => {
      const result = await call(session, 'notes__die');
      expect(result).toMatchObject({ status: 'failed', isError: true, error: { code: 'tool_server_unavailable' } });
      await stillServes();
      expect(textOf(await call(session, 'notes__whoami'))).toContain('alice');
    });

    it('a result over the cap is dropped with a clear error', async () => {
      const result = await call(session, 'notes__huge', { megabytes: 1 });
      expect(result).toMatchObject({ status: 'failed', error: { code: 'tool_result_too_large' } });
      await stillServes();
    });

    it('a tool that reports an error is passed through as is_error', async () => {
      const result = await call(session, 'notes__fail');
      expect(result.status).toBe('succeeded');
      expect(result.isError).toBe(true);
      expect(result.error).toBeNull();
    });

    it('an unknown tool is a tool error, not an HTTP error', async () => {
      const result = await call(session, 'notes__does_not_exist');
      expect(result).toMatchObject({ status: 'failed', error: { code: 'unknown_tool' } });
    });

    it('a tool server that is down is reported as unavailable', async () => {
      search.toolServer.setDown(true);
      try {
        const result = await call(session, 'search__whoami');
        expect(result).toMatchObject({ status: 'failed', error: { code: 'tool_server_unavailable' } });
        await stillServes();
      } finally {
        search.toolServer.setDown(false);
      }
      expect((await call(session, 'search__whoami')).status).toBe('succeeded');
    });

    it('a token the tool server refuses is refreshed once, and calls in flight on the same connection are not hurt', async () => {
      const daveAuthConfigId = await authorizeUser(gatehouse, browser, 'notes', 'dave');
      const daveSession = await sessionFor(daveAuthConfigId);
      expect(textOf(await call(daveSession, 'notes__whoami'))).toContain('dave');
      const refreshesBefore = upstream.tokenRequests().filter((request) => request.grantType === 'refresh_token').length;

      const sleepersBefore = notes.toolServer.calls().filter((record) => record.tool === 'sleep').length;
      const inFlight = Array.from({ length: 3 }, () => call(daveSession, 'notes__sleep', { ms: 700 }));
      await notes.toolServer.waitForCalls('sleep', sleepersBefore + 3);
      // The provider drops the access token early; the refresh token still works.
      expect(upstream.revokeAccessTokensOf('dave')).toBeGreaterThan(0);
      const refused = await call(daveSession, 'notes__whoami');

      expect(refused.status).toBe('succeeded');
      expect(textOf(refused)).toContain('dave');
      for (const sleeper of await Promise.all(inFlight)) expect(sleeper).toMatchObject({ status: 'succeeded', error: null });
      expect(upstream.tokenRequests().filter((request) => request.grantType === 'refresh_token').length - refreshesBefore).toBe(1);
      expect((await gatehouse.providers.authConfigs.get(daveAuthConfigId)).status).toBe('active');
    });

    it("a 403 from the tool server is tool_forbidden with the server's reason, and no token refresh", async () => {
      const refreshes = () => upstream.tokenRequests().filter((request) => request.grantType === 'refresh_token').length;
      expect(textOf(await call(session, 'notes__whoami'))).toContain('alice');
      const refreshesBefore = refreshes();
      notes.toolServer.forbid('add_note', { error: 'insufficient_scope', reason: 'the token lacks the notes:write scope' });
      try {
        const result = await call(session, 'notes__add_note', { text: 'not allowed' });
        expect(result).toMatchObject({ status: 'failed', isError: true, error: { code: 'tool_forbidden' } });
        expect(result.error?.message).toContain('insufficient_scope');
        expect(result.error?.message).toContain('notes:write');
        expect(result.error?.message).not.toMatch(/authorize again/);
        for (const token of issuedTokens) expect(result.error?.message).not.toContain(token);
      } finally {
        notes.toolServer.forbid('add_note', null);
      }
      expect(notes.toolServer.forbiddenAnswers()).toBe(1);
      expect(refreshes()).toBe(refreshesBefore);
      expect((await gatehouse.providers.authConfigs.get(aliceAuthConfigId)).status).toBe('active');
      expect((await call(session, 'notes__add_note', { text: 'allowed again' })).status).toBe('succeeded');
    });

    it('a token the tool server rejects asks for re-authorization', async () => {
      const carolAuthConfigId = await authorizeUser(gatehouse, browser, 'notes', 'carol');
      const carolSession = await sessionFor(carolAuthConfigId);
      expect(textOf(await call(carolSession, 'notes__whoami'))).toContain('carol');
      upstream.revokeGrantsFor('carol');
      const result = await call(carolSession, 'notes__whoami');
      expect(result).toMatchObject({ status: 'failed', error: { code: 'reauthorization_required' } });
      expect(result.error?.message).toMatch(/authorize again/);
      expect(textOf(await call(carolSession, 'public-tools__echo', { text: 'ok' }))).toContain('ok');
    });
  });

  it('records every call without secrets, and a closed session calls nothing', async () => {
    const session = await sessionFor(aliceAuthConfigId);
    await call(session, 'public-tools__echo', { text: 'recorded' });
    await call(session, 'notes__whoami');
    const records = await gatehouse.sessions.toolCalls.list(session.id);
    expect(records.data.map((record) => record.toolName)).toEqual(['notes__whoami', 'public-tools__echo']);
    expect(records.data[0]).toMatchObject({ providerId: 'notes', originalName: 'whoami', status: 'succeeded' });
    const recordText = JSON.stringify(records.data);
    for (const token of issuedTokens) expect(recordText).not.toContain(token);
    expect(recordText).not.toContain(OPERATOR_API_KEY);
    for (const token of issuedTokens) expect(server.logs()).not.toContain(token);
    expect(server.logs()).not.toContain(OPERATOR_API_KEY);

    const closed = await gatehouse.sessions.close(session.id);
    expect(closed.status).toBe('closed');
    await expect(call(session, 'public-tools__echo', { text: 'x' })).rejects.toBeInstanceOf(ConflictError);
  });

  describe('the session as an MCP server', () => {
    it('lists and calls the merged tools for the official MCP client, opened by the session secret', async () => {
      const session = await sessionFor(bobAuthConfigId);
      expect(session.mcp.secret).toMatch(/^gms_/);
      const client = new Client({ name: 'test-client', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(session.mcp.url), { requestInit: { headers: { authorization: `Bearer ${session.mcp.secret}` } } }));
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['notes__whoami', 'search__whoami', 'public-tools__echo']));
      const result = await client.callTool({ name: 'notes__whoami', arguments: {} });
      expect(JSON.stringify(result.content)).toContain('bob');
      const failed = await client.callTool({ name: 'notes__hang', arguments: {} });
      expect(failed.isError).toBe(true);
      expect(JSON.stringify(failed.content)).toContain('tool_timeout');
      await client.close();
    });

    it('names the providers it could not reach in the tool list, instead of dropping their tools silently', async () => {
      const flaky = await createPublicToolProvider(gatehouse, 'flaky-tools');
      flaky.toolServer.setDown(true);
      const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: flaky.deploymentId }, { providerDeploymentId: publicTools.deploymentId }] });
      const client = new Client({ name: 'test-client', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(session.mcp.url), { requestInit: { headers: { authorization: `Bearer ${session.mcp.secret}` } } }));
      try {
        const listed = await client.listTools();
        expect(listed.tools.map((tool) => tool.name)).toContain('public-tools__echo');
        expect(listed.tools.some((tool) => tool.name.startsWith('flaky-tools__'))).toBe(false);
        const down = { code: 'tool_server_unavailable', message: expect.stringContaining('flaky-tools') };
        expect(listed._meta?.['gatehouse/unavailable_providers']).toEqual([{ provider_id: 'flaky-tools', provider_deployment_id: flaky.deploymentId, error: down }]);
        const rest = await gatehouse.sessions.tools.list(session.id);
        expect(rest.unavailable).toEqual([{ providerId: 'flaky-tools', providerDeploymentId: flaky.deploymentId, error: down }]);

        flaky.toolServer.setDown(false);
        const back = await client.listTools();
        expect(back.tools.map((tool) => tool.name)).toContain('flaky-tools__echo');
        expect(back._meta?.['gatehouse/unavailable_providers']).toBeUndefined();
      } finally {
        await client.close();
        await flaky.toolServer.close();
      }
    });

    it('refuses a wrong secret, and a secret of another session', async () => {
      const session = await sessionFor(bobAuthConfigId);
      const other = await sessionFor(aliceAuthConfigId);
      for (const secret of ['gms_wrong', other.mcp.secret!]) {
        const response = await fetch(session.mcp.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
        });
        expect(response.status).toBe(401);
      }
    });
  });
});
