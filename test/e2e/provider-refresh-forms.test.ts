/**
 * Refresh against the token endpoints of Slack and GitHub as they really answer (a local stub of
 * their forms, ../support/provider-token-stub.ts), through a real Gatehouse server with a fake clock:
 * rotated single-use refresh tokens are stored and used, their "grant gone" errors (HTTP 200) turn
 * the auth config `reauthorization_required` with one webhook, a refused OAuth client is reported as
 * the deployment's problem, a long Retry-After is not slept through, a re-authorization is not
 * undone by a late failure of the old grant, and delete revokes what a concurrent refresh minted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { FakeClock, startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { startProviderTokenStub, type ProviderTokenStub, type StubStyle } from '../support/provider-token-stub.js';
import { authorizeOverHttp, deployStubProvider, type StubProvider } from '../support/stub-provider-fixture.js';

const TTL_SECONDS = 3600;

interface Fixture {
  stub: ProviderTokenStub;
  provider: StubProvider;
}

describe('refresh against Slack and GitHub response forms', () => {
  const clock = new FakeClock();
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let webhookId: string;
  const fixtures: Fixture[] = [];

  beforeAll(async () => {
    server = await startInProcessGatehouse({ clock, env: { GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS: '86400000' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    // Deliveries are written with the event, in its transaction: counting them counts events.
    // The URL answers nothing; only the delivery records matter here.
    webhookId = (await gatehouse.webhooks.create({ url: 'http://127.0.0.1:9/hooks', eventTypes: ['auth_config.reauthorization_required'] })).id;
  });

  afterAll(async () => {
    await server?.close();
    for (const fixture of fixtures) {
      await fixture.provider.toolServer.close();
      await fixture.stub.close();
    }
  });

  async function deploy(style: StubStyle, providerId: string, options: { nestRefresh?: boolean; revocation?: boolean } = {}): Promise<Fixture> {
    const stub = await startProviderTokenStub({ style, accessTokenTtlSeconds: TTL_SECONDS, nestRefresh: options.nestRefresh });
    const provider = await deployStubProvider(gatehouse, stub, providerId, { revocation: options.revocation });
    const fixture = { stub, provider };
    fixtures.push(fixture);
    return fixture;
  }

  async function newUser(fixture: Fixture, login: string) {
    const authConfigId = await authorizeOverHttp(gatehouse, fixture.stub, fixture.provider.providerId, login);
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: fixture.provider.deploymentId, providerAuthConfigId: authConfigId }] });
    return { authConfigId, whoami: () => gatehouse.sessions.toolCalls.create(session.id, { name: `${fixture.provider.providerId}__whoami` }) };
  }

  const refreshesOf = (stub: ProviderTokenStub) => stub.tokenRequests().filter((request) => request.grantType === 'refresh_token');
  const reauthorizationWebhooks = async () => {
    let count = 0;
    for await (const delivery of gatehouse.webhooks.deliveries.list(webhookId)) if (delivery.eventType === 'auth_config.reauthorization_required') count++;
    return count;
  };
  const expire = () => clock.advance(TTL_SECONDS * 1000);

  const variants: Array<{ style: StubStyle; nestRefresh?: boolean; name: string; grantGone: string }> = [
    { style: 'slack', name: 'Slack (token at the top level of the refresh answer)', grantGone: 'invalid_refresh_token' },
    { style: 'slack', nestRefresh: true, name: 'Slack (token under authed_user in the refresh answer)', grantGone: 'invalid_refresh_token' },
    { style: 'github', name: 'GitHub', grantGone: 'bad_refresh_token' },
  ];

  for (const [index, variant] of variants.entries()) {
    describe(variant.name, () => {
      let fixture: Fixture;
      beforeAll(async () => {
        fixture = await deploy(variant.style, `${variant.style}${index}`, { nestRefresh: variant.nestRefresh });
      });

      it('stores the rotated refresh token and uses it for the next refresh', async () => {
        const user = await newUser(fixture, 'alice');
        for (let round = 0; round < 2; round++) {
          expire();
          const result = await user.whoami();
          expect(result.error).toBeNull();
          expect(JSON.stringify(result.content)).toContain('alice');
        }
        const [first, second] = refreshesOf(fixture.stub).filter((request) => request.login === 'alice');
        expect(first!.issuedRefreshToken).toBeDefined();
        // The single-use token issued by the first refresh is the one the second presented.
        expect(second!.refreshToken).toBe(first!.issuedRefreshToken);
        expect(second!.issuedRefreshToken).toBeDefined();
        const authConfig = await gatehouse.providers.authConfigs.get(user.authConfigId);
        expect(authConfig).toMatchObject({ status: 'active', lastError: null });
      });

      it.skipIf(variant.nestRefresh)(`turns ${variant.grantGone} (HTTP 200) into reauthorization_required after one try, with one webhook`, async () => {
        const user = await newUser(fixture, 'bob');
        const webhooksBefore = await reauthorizationWebhooks();
        fixture.stub.revoke('bob');
        expire();

        const failed = await user.whoami();
        expect(failed.error?.code).toBe('reauthorization_required');
        expect((await user.whoami()).error?.code).toBe('reauthorization_required');
        expect(refreshesOf(fixture.stub).filter((request) => request.refreshToken && !request.login)).toHaveLength(1);

        const authConfig = await gatehouse.providers.authConfigs.get(user.authConfigId);
        expect(authConfig.status).toBe('reauthorization_required');
        expect(authConfig.lastError?.code).toBe(variant.grantGone);
        expect((await reauthorizationWebhooks()) - webhooksBefore).toBe(1);
      });
    });
  }

  describe('faults that are not the user\'s', () => {
    let fixture: Fixture;
    beforeAll(async () => {
      fixture = await deploy('slack', 'slackfaults');
    });

    it('keeps the user authorized when the deployment\'s OAuth client is refused, and says the client must be fixed', async () => {
      const user = await newUser(fixture, 'carol');
      const webhooksBefore = await reauthorizationWebhooks();
      fixture.stub.failRefreshesOf('carol', fixture.stub.errorResponse('unauthorized_client'));
      expire();

      const failed = await user.whoami();
      expect(failed.error?.code).toBe('token_refresh_failed');
      expect(failed.error?.message).toContain(`OAuth client of deployment ${fixture.provider.deploymentId}`);
      expect(failed.error?.message).toMatch(/oauth_client/);
      const authConfig = await gatehouse.providers.authConfigs.get(user.authConfigId);
      expect(authConfig.status).toBe('active');
      expect(authConfig.lastError?.code).toBe('unauthorized_client');
      expect((await reauthorizationWebhooks()) - webhooksBefore).toBe(0);
    });

    it('gives up at once, without marking anything broken, when Retry-After is longer than the refresh may take', async () => {
      const user = await newUser(fixture, 'dan');
      expire();
      const before = refreshesOf(fixture.stub).length;
      fixture.stub.faultNextTokenRequests(1, { status: 429, headers: { 'retry-after': '120' }, body: { ok: false, error: 'ratelimited' } });

      const failed = await user.whoami();
      expect(failed.error?.code).toBe('token_refresh_failed');
      expect(failed.error?.message).toMatch(/try again after 120 s/);
      expect(refreshesOf(fixture.stub).length - before).toBe(1);
      expect((await gatehouse.providers.authConfigs.get(user.authConfigId)).status).toBe('active');

      // Once the provider takes requests again, the same auth config refreshes.
      const result = await user.whoami();
      expect(result.error).toBeNull();
      expect(JSON.stringify(result.content)).toContain('dan');
    });

    it('keeps a re-authorization that completes while a refresh with the old grant is failing', async () => {
      const user = await newUser(fixture, 'erin');
      const webhooksBefore = await reauthorizationWebhooks();
      expire();
      const held = fixture.stub.holdNextRefresh();
      const call = user.whoami();
      await held.arrived;

      // The user authorizes again (same auth config) while the old grant's refresh is in flight...
      await authorizeOverHttp(gatehouse, fixture.stub, fixture.provider.providerId, 'erin', user.authConfigId);
      // ...and only then does the provider answer that refresh: the old grant is gone.
      held.release(fixture.stub.grantGoneResponse());
      const result = await call;

      expect(result.error).toBeNull();
      expect(JSON.stringify(result.content)).toContain('erin');
      const authConfig = await gatehouse.providers.authConfigs.get(user.authConfigId);
      expect(authConfig).toMatchObject({ status: 'active', lastError: null });
      expect((await reauthorizationWebhooks()) - webhooksBefore).toBe(0);
      const history = [];
      for await (const event of gatehouse.providers.authConfigs.events(user.authConfigId)) history.push(event.type);
      expect(history).toEqual(['reauthorized', 'created']);
    });
  });

  describe('delete during a rotating refresh', () => {
    it('revokes the refresh token that the concurrent refresh minted, not only the one it replaced', async () => {
      const fixture = await deploy('github', 'githubrevoke', { revocation: true });
      const user = await newUser(fixture, 'frank');
      expire();
      const held = fixture.stub.holdNextRefresh();
      const call = user.whoami().catch(() => undefined);
      await held.arrived;

      const deleting = gatehouse.providers.authConfigs.delete(user.authConfigId);
      // Without the lock, delete would revoke the old token now; give it the chance to (or to wait).
      for (let waited = 0; fixture.stub.revokedTokens().length === 0 && waited < 10; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      held.release();
      const result = await deleting;
      await call;

      expect(result.revocation).toMatchObject({ attempted: true, confirmed: true });
      const minted = refreshesOf(fixture.stub).find((request) => request.login === 'frank')?.issuedRefreshToken;
      expect(minted).toBeDefined();
      expect(fixture.stub.revokedTokens()).toContain(minted);
      expect(fixture.stub.liveRefreshTokens('frank')).toEqual([]);
    });
  });
});
