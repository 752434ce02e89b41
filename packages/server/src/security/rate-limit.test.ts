import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL } from '../../../../test/support/gatehouse.js';
import type { RateLimitConfig } from '../config.js';
import { GatehouseError } from '../errors.js';
import { openPostgresStore, type Store } from '../store/database.js';
import { enforceProjectRateLimit, leaseSize } from './rate-limit.js';

const logger = pino({ level: 'silent' });
const clock = { now: () => new Date() };

function limitsOf(toolCallsPerMinute: number) {
  const rateLimits: RateLimitConfig = { authFailuresPerMinute: 0, setupSessionsPerMinute: 0, toolCallsPerMinute };
  return { rateLimits } as never;
}

/** Tries `calls` tool calls spread evenly over the stores at once; returns how many were let through. */
async function admitted(stores: Store[], projectId: string, limit: number, calls: number): Promise<{ ok: number; refusals: GatehouseError[] }> {
  const refusals: GatehouseError[] = [];
  let ok = 0;
  await Promise.all(
    Array.from({ length: calls }, async (_, index) => {
      const store = stores[index % stores.length]!;
      try {
        await enforceProjectRateLimit({ db: store.db, clock, logger, security: limitsOf(limit) }, projectId, 'tool_calls');
        ok++;
      } catch (error) {
        if (!(error instanceof GatehouseError)) throw error;
        refusals.push(error);
      }
    }),
  );
  return { ok, refusals };
}

describe('leaseSize', () => {
  it('leases one event at a time for small limits and about 2 % of large ones, at most 100', () => {
    expect(leaseSize(1)).toBe(1);
    expect(leaseSize(49)).toBe(1);
    expect(leaseSize(1_000)).toBe(20);
    expect(leaseSize(60_000)).toBe(100);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('project rate limits shared by two processes on one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let stores: Store[];

  beforeAll(async () => {
    database = await createTestDatabase();
    // Two stores, two pools, two lease tables: what two `gatehouse serve` processes have.
    stores = [await openPostgresStore(database.url, logger), await openPostgresStore(database.url, logger)];
  }, 60_000);

  afterAll(async () => {
    await Promise.all(stores?.map((store) => store.close()) ?? []);
    await database?.drop();
  });

  it('lets exactly the limit through when the limit is small (leases of one)', async () => {
    const { ok, refusals } = await admitted(stores, 'project-small', 7, 40);
    expect(ok).toBe(7);
    expect(refusals).toHaveLength(33);
    expect(refusals[0]!.status).toBe(429);
    expect(Number(refusals[0]!.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refusals[0]!.message).toContain('GATEHOUSE_RATE_LIMIT_TOOL_CALLS');
  });

  it('never lets more than the limit through across both, and wastes at most one lease per process', async () => {
    const limit = 1_000;
    const { ok } = await admitted(stores, 'project-large', limit, 1_300);
    expect(ok).toBeLessThanOrEqual(limit);
    expect(ok).toBeGreaterThanOrEqual(limit - 2 * leaseSize(limit));
  });

  it('counts each project on its own', async () => {
    await admitted(stores, 'project-busy', 3, 10);
    const { ok } = await admitted(stores, 'project-quiet', 3, 3);
    expect(ok).toBe(3);
  });
});
