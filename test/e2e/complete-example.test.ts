/**
 * The seed's Complete Example end to end: two users each authorize two OAuth providers in Chromium
 * (oidc-provider upstream), then the real `@anthropic-ai/sdk`, pointed at a local stub of the
 * Messages API, runs an agent loop over three providers at once. Every tool result names the user
 * who authorized, and the two users never see each other's data.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { completeExample } from '../../examples/complete-example/complete-example.js';
import { startLocalProviders, type LocalProviders } from '../../examples/complete-example/local-providers.js';
import { callEachToolOnceThenSummarize, startAnthropicStub, toolResultsOf, type AnthropicStub } from '../support/anthropic-stub.js';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { authorizeInBrowser } from '../support/setup-flow.js';

describe('the Complete Example', () => {
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let local: LocalProviders;
  let stub: AnthropicStub;
  let browser: Browser;

  beforeAll(async () => {
    server = await startInProcessGatehouse({ env: { GATEHOUSE_TOOL_CALL_TIMEOUT_MS: '1500' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    local = await startLocalProviders(gatehouse);
    stub = await startAnthropicStub(callEachToolOnceThenSummarize([/whoami/]));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await stub?.close();
    await local?.close();
    await server?.close();
  });

  const runAs = async (login: string) => {
    const firstRequest = stub.requests().length;
    const result = await completeExample({
      gatehouse,
      anthropic: new Anthropic({ apiKey: 'test-key', baseURL: stub.url, maxRetries: 0 }),
      model: 'claude-test',
      providers: local.providers,
      prompt: 'Who am I everywhere?',
      sendToUser: async (url) => {
        const { context } = await authorizeInBrowser(browser, url, login);
        await context.close();
      },
    });
    return { ...result, requests: stub.requests().slice(firstRequest) };
  };

  it('runs an agent loop over GitHub, Slack and Exa tools, each acting for the user who authorized', async () => {
    const { answer, requests, githubAuthConfigId, slackAuthConfigId } = await runAs('alice');

    // Claude saw the tools of all three providers, under their stable names.
    const toolNames = requests[0]!.body.tools!.map((tool) => (tool as Anthropic.Tool).name);
    expect(toolNames).toEqual(expect.arrayContaining(['local-github__whoami', 'local-slack__whoami', 'local-exa__whoami']));

    // The tool results that went back to Claude name alice (OAuth) and the operator key (Exa).
    const results = toolResultsOf(requests[1]!.body);
    expect(results).toHaveLength(3);
    expect(results.every((result) => result.is_error !== true)).toBe(true);
    expect(answer.split('\n').sort()).toEqual(['alice', 'alice', 'api-key:-key'].sort());

    const configs = await Promise.all([githubAuthConfigId, slackAuthConfigId].map((id) => gatehouse.providers.authConfigs.get(id)));
    expect(configs.map((config) => config.status)).toEqual(['active', 'active']);
    // withProviderSession closed the session when the loop ended.
    const sessions = await gatehouse.sessions.list();
    expect(sessions.data[0]!.status).toBe('closed');
  });

  it('gives a second user a loop that sees only their own account', async () => {
    const { answer } = await runAs('bob');
    expect(answer).toContain('bob');
    expect(answer).not.toContain('alice');
  });

  it('turns a failing tool into an is_error tool result instead of ending the loop', async () => {
    stub.setScript(callEachToolOnceThenSummarize([/local-github__fail/, /local-slack__hang/, /local-exa__whoami/]));
    try {
      const { answer, requests } = await runAs('carol');
      const results = toolResultsOf(requests[1]!.body);
      expect(results.map((result) => result.is_error === true)).toEqual([true, true, false]);
      expect(answer).toContain('api-key:');
    } finally {
      stub.setScript(callEachToolOnceThenSummarize([/whoami/]));
    }
  });
});
