/**
 * A small in-process cache whose entries live for a fixed time, with single-flight loading: callers
 * that miss the same key at once share one load. Bounded in size (the oldest entry goes first).
 *
 * The gateway uses it for what every tool call would otherwise read from the database again (the
 * session, its providers' credentials). Changes made in this process evict entries at once; the TTL
 * bounds how long another process's change can go unseen.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The fresh value of `key`, if any. */
  peek(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** The fresh value of `key`, or the result of `load` (stored unless it throws). */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load()
        .then((value) => {
          this.set(key, value);
          return value;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Stores `value` under `key` for the cache's TTL. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
  }

  /** Forgets `key`, and every key that starts with `key` followed by `|` (its dependents). */
  delete(key: string): void {
    this.entries.delete(key);
    const prefix = `${key}|`;
    for (const candidate of this.entries.keys()) if (candidate.startsWith(prefix)) this.entries.delete(candidate);
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
  }

  /** Forgets every entry whose key contains `part` (an id that several keys include). */
  deleteMatching(part: string): void {
    for (const candidate of this.entries.keys()) if (candidate.includes(part)) this.entries.delete(candidate);
  }
}
