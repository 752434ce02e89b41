import { GatehouseError } from './errors.js';

/** Parameters every list method takes. */
export interface CursorPageParams {
  /** Items per page, 1–100 (server default 20). */
  limit?: number;
  /** The `nextCursor` of a previous page; usually left to the iterator. */
  cursor?: string;
}

/** A list answer in SDK form: `{ data, next_cursor }` on the wire. */
export interface CursorPageBody<Item> {
  data: Item[];
  nextCursor?: string | null;
}

/** Loads the page that starts at `cursor` (`undefined`: the first page). */
export type PageLoader<Item> = (cursor: string | undefined) => Promise<Page<Item>>;

/**
 * One page of a list, newest first. Iterating it with `for await` yields its items and then those of
 * every following page, fetched one page at a time as the loop reaches them.
 *
 * @example
 * ```ts
 * const page = await gatehouse.providers.authConfigs.list({ limit: 50 });
 * console.log(page.data.length, page.hasNextPage());
 * for await (const authConfig of page) console.log(authConfig.id); // all pages
 * ```
 */
export class Page<Item> implements AsyncIterable<Item> {
  /** The items of this page. */
  readonly data: Item[];
  /** The cursor of the next page, or `null` on the last page. */
  readonly nextCursor: string | null;
  readonly #load: PageLoader<Item>;

  /**
   * @param body - the list answer
   * @param load - fetches another page of the same list
   */
  constructor(body: CursorPageBody<Item>, load: PageLoader<Item>) {
    this.data = Array.isArray(body.data) ? body.data : [];
    this.nextCursor = body.nextCursor ? body.nextCursor : null;
    this.#load = load;
  }

  /** Whether another page follows this one. */
  hasNextPage(): boolean {
    return this.nextCursor !== null;
  }

  /**
   * Fetches the next page.
   *
   * @throws GatehouseError on the last page (check {@link Page.hasNextPage} first)
   */
  async getNextPage(): Promise<Page<Item>> {
    if (this.nextCursor === null) throw new GatehouseError('This is the last page: there is no next page to fetch.');
    return this.#load(this.nextCursor);
  }

  /** Yields this page and then every following page. */
  async *iterPages(): AsyncGenerator<Page<Item>, void, undefined> {
    yield this;
    let page = this.hasNextPage() ? await this.getNextPage() : undefined;
    while (page) {
      yield page;
      page = page.hasNextPage() ? await page.getNextPage() : undefined;
    }
  }

  /** Yields every item of this page and of every following page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/**
 * What list methods return: await it for the first {@link Page}, or iterate it directly with
 * `for await` to go through every item of every page. The first request is sent when it is first
 * awaited or iterated, not before.
 *
 * @example
 * ```ts
 * for await (const authConfig of gatehouse.providers.authConfigs.list({ providerId: 'slack' })) {
 *   console.log(authConfig.id, authConfig.status);
 * }
 * ```
 */
export class PagePromise<Item> implements PromiseLike<Page<Item>>, AsyncIterable<Item> {
  readonly #loadFirst: () => Promise<Page<Item>>;
  #firstPage: Promise<Page<Item>> | undefined;

  /** @param loadFirst - fetches the first page */
  constructor(loadFirst: () => Promise<Page<Item>>) {
    this.#loadFirst = loadFirst;
  }

  #start(): Promise<Page<Item>> {
    this.#firstPage ??= this.#loadFirst();
    return this.#firstPage;
  }

  /** Resolves with the first page (the `PromiseLike` contract, so `await` works). */
  then<TResult1 = Page<Item>, TResult2 = never>(
    onfulfilled?: ((page: Page<Item>) => TResult1 | PromiseLike<TResult1>) | null,
    onrejected?: ((reason: unknown) => TResult2 | PromiseLike<TResult2>) | null,
  ): Promise<TResult1 | TResult2> {
    return this.#start().then(onfulfilled, onrejected);
  }

  /** Like `Promise.prototype.catch`, on the first page. */
  catch<TResult = never>(
    onrejected?: ((reason: unknown) => TResult | PromiseLike<TResult>) | null,
  ): Promise<Page<Item> | TResult> {
    return this.#start().catch(onrejected);
  }

  /** Like `Promise.prototype.finally`, on the first page. */
  finally(onfinally?: (() => void) | null): Promise<Page<Item>> {
    return this.#start().finally(onfinally);
  }

  /** Yields every item of every page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    const firstPage = await this.#start();
    yield* firstPage;
  }

  /** @internal */
  readonly [Symbol.toStringTag] = 'PagePromise';
}

/**
 * Builds the {@link PagePromise} of a cursor-paginated list.
 *
 * @param fetchPage - sends the list request for a cursor and resolves with the answer
 * @internal
 */
export function paginate<Item>(fetchPage: (cursor: string | undefined) => Promise<CursorPageBody<Item>>): PagePromise<Item> {
  const load: PageLoader<Item> = async (cursor) => new Page(await fetchPage(cursor), load);
  return new PagePromise(() => load(undefined));
}
