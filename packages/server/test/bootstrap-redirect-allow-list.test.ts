/**
 * GATEHOUSE_ALLOWED_REDIRECT_URLS configures the bootstrap project across restarts: set (even to
 * empty) it replaces the stored allow-list, unset it leaves it alone. Seen as an app sees it: can a
 * setup session be created with a `redirectUrl`?
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BadRequestError, Gatehouse } from '@gatehouse/sdk';
import { startInProcessGatehouse, tempDir, testApiKey, type InProcessGatehouse } from '../../../test/support/gatehouse.js';

const REDIRECT_URL = 'https://app.example.com/oauth/done';

describe('GATEHOUSE_ALLOWED_REDIRECT_URLS across restarts', () => {
  const dataDir = tempDir();
  const apiKey = testApiKey();
  let server: InProcessGatehouse | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Starts on the shared folder (the same project and key every time) and tries a redirect. */
  async function startAndTryRedirect(redirectVariable: string | undefined): Promise<'allowed' | 'refused'> {
    const env: Record<string, string> = { GATEHOUSE_BOOTSTRAP_API_KEY: apiKey };
    if (redirectVariable !== undefined) env.GATEHOUSE_ALLOWED_REDIRECT_URLS = redirectVariable;
    server = await startInProcessGatehouse({ dataDir, env });
    const gatehouse = new Gatehouse({ apiKey, baseUrl: server.url, maxRetries: 0 });
    if ((await gatehouse.providers.deployments.list({ providerId: 'exa' })).data.length === 0) {
      await gatehouse.providers.deployments.create({ providerId: 'exa' });
    }
    try {
      await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key', redirectUrl: REDIRECT_URL });
      return 'allowed';
    } catch (error) {
      if (error instanceof BadRequestError && /redirect_url is not allowed/.test(error.message)) return 'refused';
      throw error;
    }
  }

  it('applies the variable when set, keeps the stored list when unset, and clears it when set to empty', async () => {
    expect(await startAndTryRedirect('https://app.example.com/')).toBe('allowed');
    await server!.close();
    // Unset: e.g. a restart by hand without the production environment; the list survives.
    expect(await startAndTryRedirect(undefined)).toBe('allowed');
    await server!.close();
    // Set to empty: the operator removed every allowed redirect.
    expect(await startAndTryRedirect('')).toBe('refused');
    await server!.close();
    expect(await startAndTryRedirect(undefined)).toBe('refused');
    await server!.close();
    // Set to another prefix: replaces, does not add to, the stored list.
    expect(await startAndTryRedirect('https://other.example.com/')).toBe('refused');
  });
});
