/**
 * A caller's cancel reaches the tool server: through the session's MCP endpoint (the official MCP
 * client's `notifications/cancelled`, which arrives in a request of its own), and through REST (the
 * aborted HTTP request). The gateway's own timeout is set far away, so only the cancel can end the call;
 * it is recorded as `cancelled`, not as a timeout.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse, type ToolCall } from '@gatehouse/sdk';
import {
  createTestDatabase,
  spawnGatehouse,
  startInProcessGatehouse,
  TEST_DATABASE_URL,
  testApiKey,
  testEncryptionKeys,
  type GatehouseProcess,
  type InProcessGatehouse,
} from '../support/gatehouse.js';
import type { ToolServer } from '../support/mcp-tool-server.js';
import { createPublicToolProvider } from '../support/session-fixtures.js';

const FAR_AWAY_TIMEOUT_MS = 10 * 60_000;

/** The session's one recorded call of `toolName`, once it is recorded (the call ends after the cancel). */
async function recordedCallOf(gatehouse: Gatehouse, sessionId: string, toolName: string): Promise<ToolCall> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const record = (await gatehouse.sessions.toolCalls.list(sessionId)).data.find((candidate) => candidate.toolName === toolName);
    if (record) return record;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${toolName} call was recorded`);
}

describe('cancelling a tool call', () => {
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let tools: { deploymentId: string; toolServer: ToolServer };

  beforeAll(async () => {
    server = await startInProcessGatehouse({ env: { GATEHOUSE_TOOL_CALL_TIMEOUT_MS: String(FAR_AWAY_TIMEOUT_MS) } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    tools = await createPublicToolProvider(gatehouse, 'slow-tools');
  });

  afterAll(async () => {
    await server?.close();
    await tools?.toolServer.close();
  });

  const recordedCall = (sessionId: string, toolName: string) => recordedCallOf(gatehouse, sessionId, toolName);

  it("forwards an MCP client's cancel to the tool server and records the call as cancelled", async () => {
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: tools.deploymentId }] });
    const client = new Client({ name: 'cancelling-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(session.mcp.url), { requestInit: { headers: { authorization: `Bearer ${session.mcp.secret}` } } }));
    try {
      const callsBefore = tools.toolServer.calls().filter((call) => call.tool === 'hang').length;
      const cancelledBefore = tools.toolServer.cancellations().filter((tool) => tool === 'hang').length;
      const controller = new AbortController();
      const pending = client.callTool({ name: 'slow-tools__hang', arguments: {} }, undefined, { signal: controller.signal, timeout: FAR_AWAY_TIMEOUT_MS });
      await tools.toolServer.waitForCalls('hang', callsBefore + 1);
      controller.abort('the user pressed stop');
      await expect(pending).rejects.toThrow();

      // The gateway's timeout is ten minutes away: only the forwarded cancel can end the call at the tool server.
      await tools.toolServer.waitForCancellations('hang', cancelledBefore + 1);
      const record = await recordedCall(session.id, 'slow-tools__hang');
      expect(record).toMatchObject({ status: 'failed', isError: true, error: { code: 'cancelled' } });

      // The endpoint and the tool server serve on.
      const echoed = await client.callTool({ name: 'slow-tools__echo', arguments: { text: 'after the cancel' } });
      expect(JSON.stringify(echoed.content)).toContain('after the cancel');
    } finally {
      await client.close();
    }
  });

  it('cancels the call at the tool server when a REST caller aborts its request', async () => {
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: tools.deploymentId }] });
    const callsBefore = tools.toolServer.calls().filter((call) => call.tool === 'hang').length;
    const cancelledBefore = tools.toolServer.cancellations().filter((tool) => tool === 'hang').length;
    const controller = new AbortController();
    const pending = gatehouse.sessions.toolCalls.create(session.id, { name: 'slow-tools__hang' }, { signal: controller.signal });
    await tools.toolServer.waitForCalls('hang', callsBefore + 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await tools.toolServer.waitForCancellations('hang', cancelledBefore + 1);
    expect(await recordedCall(session.id, 'slow-tools__hang')).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
  });
});

describe.skipIf(!TEST_DATABASE_URL)('cancelling a tool call behind a load balancer (two processes on PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let processA: GatehouseProcess;
  let processB: GatehouseProcess;
  let gatehouse: Gatehouse;
  let tools: { deploymentId: string; toolServer: ToolServer };

  beforeAll(async () => {
    database = await createTestDatabase();
    const apiKey = testApiKey();
    const env = {
      DATABASE_URL: database.url,
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
      GATEHOUSE_TOOL_CALL_TIMEOUT_MS: String(FAR_AWAY_TIMEOUT_MS),
    };
    [processA, processB] = await Promise.all([spawnGatehouse({ env }), spawnGatehouse({ env })]);
    gatehouse = new Gatehouse({ apiKey, baseUrl: processA.url, maxRetries: 0 });
    tools = await createPublicToolProvider(gatehouse, 'slow-tools');
  }, 60_000);

  afterAll(async () => {
    await Promise.all([processA?.stop(), processB?.stop()]);
    await tools?.toolServer.close();
    await database?.drop();
  });

  it('cancels the call on the process that runs it when the cancel reaches another one', async () => {
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: tools.deploymentId }] });
    const urlOnB = new URL(new URL(session.mcp.url).pathname, processB.url);
    let cancelsSentToB = 0;
    // The load balancer: every request goes to A, except the one carrying the cancel, which goes to B.
    const balancer: typeof fetch = async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      if (body.includes('notifications/cancelled')) {
        cancelsSentToB++;
        return fetch(urlOnB, init);
      }
      return fetch(input, init);
    };
    const client = new Client({ name: 'balanced-client', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(session.mcp.url), { fetch: balancer, requestInit: { headers: { authorization: `Bearer ${session.mcp.secret}` } } }),
    );
    try {
      const callsBefore = tools.toolServer.calls().filter((call) => call.tool === 'hang').length;
      const cancelledBefore = tools.toolServer.cancellations().filter((tool) => tool === 'hang').length;
      const controller = new AbortController();
      const pending = client.callTool({ name: 'slow-tools__hang', arguments: {} }, undefined, { signal: controller.signal, timeout: FAR_AWAY_TIMEOUT_MS });
      await tools.toolServer.waitForCalls('hang', callsBefore + 1);
      controller.abort('the user pressed stop');
      await expect(pending).rejects.toThrow();
      await tools.toolServer.waitForCancellations('hang', cancelledBefore + 1);
      expect(cancelsSentToB).toBe(1);
      expect(await recordedCallOf(gatehouse, session.id, 'slow-tools__hang')).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    } finally {
      await client.close();
    }
  });
});
