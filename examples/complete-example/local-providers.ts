/**
 * Local stand-ins for GitHub, Slack and Exa, so the example runs offline: a real OAuth server
 * (oidc-provider) and real MCP tool servers (built with the MCP SDK) on 127.0.0.1. Gatehouse must run
 * with GATEHOUSE_ALLOW_PRIVATE_NETWORK=true to reach them.
 */
import type { Gatehouse } from '@gatehouse/sdk';
import { createApiKeyToolProvider, createOAuthToolProvider } from '../../test/support/session-fixtures.js';
import { startUpstream, type Upstream } from '../../test/support/upstream.js';
import type { ExampleProviders } from './complete-example.js';

/** The local providers, registered in the Gatehouse project, and how to stop them. */
export interface LocalProviders {
  providers: ExampleProviders;
  upstream: Upstream;
  close(): Promise<void>;
}

/** Starts the local providers and registers them (custom providers `local-github`, `local-slack`, `local-exa`). */
export async function startLocalProviders(gatehouse: Gatehouse, suffix = ''): Promise<LocalProviders> {
  const upstream = await startUpstream({ clients: [] });
  const github = await createOAuthToolProvider(gatehouse, upstream, `local-github${suffix}`);
  const slack = await createOAuthToolProvider(gatehouse, upstream, `local-slack${suffix}`);
  const exa = await createApiKeyToolProvider(gatehouse, `local-exa${suffix}`, 'local-exa-operator-key');
  return {
    upstream,
    providers: {
      github: { providerId: github.providerId, deploymentId: github.deploymentId },
      slack: { providerId: slack.providerId, deploymentId: slack.deploymentId },
      exa: { deploymentId: exa.deploymentId },
    },
    async close() {
      await Promise.all([github.toolServer.close(), slack.toolServer.close(), exa.toolServer.close()]);
      await upstream.close();
    },
  };
}
