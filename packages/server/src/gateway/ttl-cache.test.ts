import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('serves a value until its time is up, then loads it again', async () => {
    let now = 0;
    let loads = 0;
    const cache = new TtlCache<number>(1_000, 10, () => now);
    const load = async () => ++loads;
    expect(await cache.get('a', load)).toBe(1);
    now = 999;
    expect(await cache.get('a', load)).toBe(1);
    now = 1_000;
    expect(await cache.get('a', load)).toBe(2);
  });

  it('shares one load between callers that miss at once, and keeps nothing when the load fails', async () => {
    let loads = 0;
    const cache = new TtlCache<string>(1_000, 10);
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve(`v${++loads}`), 10));
    expect(await Promise.all([cache.get('k', slow), cache.get('k', slow), cache.get('k', slow)])).toEqual(['v1', 'v1', 'v1']);
    await expect(cache.get('bad', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.peek('bad')).toBeUndefined();
  });

  it('forgets a key with its dependents, or every key naming an id', async () => {
    const cache = new TtlCache<number>(60_000, 10);
    cache.set('p1|s1', 1);
    cache.set('p1|s1|x', 2);
    cache.set('|p1|d1|a1|', 3);
    cache.set('|p1|d2|a2|', 4);
    cache.delete('p1|s1');
    expect(cache.peek('p1|s1')).toBeUndefined();
    expect(cache.peek('p1|s1|x')).toBeUndefined();
    cache.deleteMatching('|a1|');
    expect(cache.peek('|p1|d1|a1|')).toBeUndefined();
    expect(cache.peek('|p1|d2|a2|')).toBe(4);
  });

  it('drops the oldest entry when full', () => {
    const cache = new TtlCache<number>(60_000, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('c')).toBe(3);
  });
});
