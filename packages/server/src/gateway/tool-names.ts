import { createHash } from 'node:crypto';

/**
 * Session tool names: `<prefix>__<tool>`, at most 64 characters of `[a-zA-Z0-9_-]` (the limit and
 * alphabet the LLM APIs share: Anthropic, OpenAI, Gemini).
 *
 * The scheme, and why:
 * - A name is a pure function of (deployment, tool name), so the same tool has the same name in every
 *   session, whatever other providers or tools the session has. Models, prompts and logs can rely on it.
 * - The prefix names the deployment. A provider's *primary* deployment (the oldest one in the project,
 *   decided when the session is created, see {@link toolNamePrefix}) gets the provider id itself
 *   (`github`). Any other deployment of the provider gets the provider id plus `_` and a hash of the
 *   deployment id (`github_3f2a9c1b`), in every session, whether or not the session also has the primary.
 *   Provider ids are `[a-z0-9-]` (no `_`), so the two forms never meet; an id longer than
 *   {@link MAX_PREFIX_LENGTH} is cut and hashed the same way.
 * - The prefix never contains `__` and never ends in `_`, so the first `__` of a name ends its prefix:
 *   {@link prefixOf} finds the deployment of a name without any tool list.
 * - The tool part is the tool's own name when it is already valid and fits. A name that needed cleaning
 *   (`events.list`) or cutting gets `_` and a hash of the original name, always, rather than only when
 *   it clashes with another tool: "only on a clash" would make the name depend on the server's current
 *   tool list. A clash left after that (a tool literally named like another's hashed form) gets a
 *   longer hash, the only case where a name depends on the rest of the list.
 */
export const MAX_TOOL_NAME_LENGTH = 64;
/** Longest prefix, so a tool part of at least 30 characters always fits beside it. */
export const MAX_PREFIX_LENGTH = 32;
const VALID_NAME = /^[a-zA-Z0-9_-]+$/;
const VALID_PROVIDER_ID = /^[a-z0-9-]+$/;
const INVALID_CHARACTERS = /[^a-zA-Z0-9_-]/g;
const SEPARATOR = '__';

function shortHash(value: string, length = 8): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

/** One deployment of a session whose tools get names. */
export interface ToolNamespace {
  providerId: string;
  deploymentId: string;
  /** The prefix chosen when the session was created; sessions created before it was stored lack it. */
  toolPrefix?: string | undefined;
}

/**
 * The name prefix of a deployment's tools: the provider id for the provider's primary deployment,
 * else the provider id qualified by a hash of the deployment id. Pure, so it is computed once when a
 * session is created and stored with it.
 *
 * @param providerId - the provider (`github`)
 * @param deploymentId - the deployment (`pde_…`)
 * @param primary - whether it is the provider's primary (oldest) deployment in the project
 */
export function toolNamePrefix(providerId: string, deploymentId: string, primary: boolean): string {
  if (primary && VALID_PROVIDER_ID.test(providerId) && providerId.length <= MAX_PREFIX_LENGTH) return providerId;
  const hash = shortHash(primary ? providerId : `${providerId}\u0000${deploymentId}`);
  // Cleaned to the provider-id alphabet, so the only `_` is the one before the hash.
  const head = providerId.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, MAX_PREFIX_LENGTH - hash.length - 1);
  return `${head}_${hash}`;
}

/**
 * The prefix of each deployment of a session (deployment id → prefix): the stored one, or, for a
 * session stored without prefixes, the provider id when the session has a single deployment of that
 * provider and a deployment-qualified one otherwise.
 */
export function namespacePrefixes(namespaces: readonly ToolNamespace[]): Map<string, string> {
  const deploymentsPerProvider = new Map<string, number>();
  for (const namespace of namespaces) {
    deploymentsPerProvider.set(namespace.providerId, (deploymentsPerProvider.get(namespace.providerId) ?? 0) + 1);
  }
  return new Map(
    namespaces.map((namespace) => [
      namespace.deploymentId,
      namespace.toolPrefix ??
        toolNamePrefix(namespace.providerId, namespace.deploymentId, deploymentsPerProvider.get(namespace.providerId) === 1),
    ]),
  );
}

/** The prefix of an exposed tool name (what comes before its first `__`), or undefined without one. */
export function prefixOf(exposedName: string): string | undefined {
  const end = exposedName.indexOf(SEPARATOR);
  return end > 0 ? exposedName.slice(0, end) : undefined;
}

function hashedToolPart(original: string, room: number, hashLength: number): string {
  const suffix = `_${shortHash(original, hashLength)}`;
  return `${original.replace(INVALID_CHARACTERS, '_').slice(0, Math.max(0, room - suffix.length))}${suffix}`;
}

/**
 * The exposed names of one deployment's tools (original name → exposed name), under `prefix` (from
 * {@link namespacePrefixes}). Each name depends only on the prefix and the tool's own name; see the
 * scheme above.
 */
export function exposedToolNames(prefix: string, originalNames: readonly string[]): Map<string, string> {
  const room = MAX_TOOL_NAME_LENGTH - prefix.length - SEPARATOR.length;
  const result = new Map<string, string>();
  const owners = new Map<string, string>();
  const hashed: string[] = [];
  for (const original of new Set(originalNames)) {
    if (VALID_NAME.test(original) && original.length <= room) {
      result.set(original, `${prefix}${SEPARATOR}${original}`);
      owners.set(original, original);
    } else {
      hashed.push(original);
    }
  }
  for (const original of hashed) {
    let part = hashedToolPart(original, room, 8);
    // A plain tool named exactly like this hashed form: astronomically unlikely unless on purpose.
    if (owners.has(part)) part = hashedToolPart(original, room, 20);
    owners.set(part, original);
    result.set(original, `${prefix}${SEPARATOR}${part}`);
  }
  return result;
}

/**
 * The reverse of {@link exposedToolNames}: exposed name → original name, for resolving a call.
 *
 * @param prefix - the deployment's prefix
 * @param originalNames - the deployment's tools as its server lists them
 */
export function toolNameLookup(prefix: string, originalNames: readonly string[]): Map<string, string> {
  return new Map([...exposedToolNames(prefix, originalNames)].map(([original, exposed]) => [exposed, original]));
}
