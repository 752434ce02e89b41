import type { Gatehouse } from '../client.js';
import { GatehouseError } from './errors.js';

/**
 * Base of the resource classes (`gatehouse.providers`, `gatehouse.providers.setupSessions`, ...):
 * each holds the client and turns method calls into API calls.
 */
export abstract class APIResource {
  /** The client whose options and transport the resource uses (not enumerable: no cycle in `JSON.stringify`). */
  declare protected readonly _client: Gatehouse;

  /** @param client - the client */
  constructor(client: Gatehouse) {
    Object.defineProperty(this, '_client', { value: client, enumerable: false });
  }
}

/**
 * URL-encodes an id for a path, refusing an empty one (which would silently address the list instead).
 *
 * @param id - the id
 * @param what - what the id names, for the error message
 * @internal
 */
export function pathSegment(id: string, what: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new GatehouseError(`Expected a non-empty ${what} id, got ${JSON.stringify(id)}.`);
  }
  return encodeURIComponent(id);
}
