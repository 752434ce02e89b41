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
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import type { ToolServer } from '../support/mcp-tool-server.js';
import { createPublicToolProvider } from '../support/session-fixtures.js';

const FAR_AWAY_TIMEOUT_MS = 10 * 60_000;

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

  /** The session's one recorded call of `toolName`, once it is recorded (the call ends after the cancel). */
  async function recordedCall(sessionId: string, toolName: string): Promise<ToolCall> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const record = (await gatehouse.sessions.toolCalls.list(sessionId)).data.find((candidate) => candidate.toolName === toolName);
      if (record) return record;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no ${toolName} call was recorded`);
  }

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
