import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGatehouse, startFakeGatehouse, TEST_API_KEY } from '../../test/fake-gatehouse.js';
import { Gatehouse, GatehouseError, type ProviderAuthConfig } from '../index.js';

let fake: FakeGatehouse;
let gatehouse: Gatehouse;
let createdIds: string[];

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl });
  createdIds = [];
  for (let index = 0; index < 5; index += 1) {
    createdIds.push(fake.addAuthConfig({ metadata: { user_id: 'u_1' } }).id as string);
  }
  fake.addAuthConfig({ metadata: { user_id: 'someone_else' } });
});
afterEach(() => fake.close());

describe('pagination', () => {
  it('iterates every item of every page with for await, following next_cursor and keeping filters', async () => {
    const seen: ProviderAuthConfig[] = [];
    for await (const authConfig of gatehouse.providers.authConfigs.list({ limit: 2, metadata: { user_id: 'u_1' } })) {
      seen.push(authConfig);
    }
    expect(seen.map((authConfig) => authConfig.id)).toEqual([...createdIds].reverse());
    const lists = fake.requestsTo('/v1/providers/auth-configs');
    expect(lists.map((request) => request.query.get('cursor'))).toEqual([null, 'cur_2', 'cur_4']);
    for (const request of lists) {
      expect(request.query.get('limit')).toBe('2');
      expect(request.query.get('metadata[user_id]')).toBe('u_1');
    }
  });

  it('awaits to the first page, which can step and iterate pages', async () => {
    const page = await gatehouse.providers.authConfigs.list({ limit: 4, metadata: { user_id: 'u_1' } });
    expect(page.data).toHaveLength(4);
    expect(page.nextCursor).toBe('cur_4');
    expect(page.hasNextPage()).toBe(true);
    const last = await page.getNextPage();
    expect(last.data).toHaveLength(1);
    expect(last.hasNextPage()).toBe(false);
    await expect(last.getNextPage()).rejects.toBeInstanceOf(GatehouseError);
    const sizes: number[] = [];
    for await (const each of page.iterPages()) sizes.push(each.data.length);
    expect(sizes).toEqual([4, 1]);
  });

  it('sends nothing until awaited or iterated, and the first page only once', async () => {
    const list = gatehouse.providers.authConfigs.list();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.requests).toHaveLength(0);
    await list;
    await list;
    expect(fake.requests).toHaveLength(1);
  });

  it('stops early when the loop breaks', async () => {
    for await (const authConfig of gatehouse.providers.authConfigs.list({ limit: 2 })) {
      expect(authConfig.object).toBe('provider_auth_config');
      break;
    }
    expect(fake.requests).toHaveLength(1);
  });
});
