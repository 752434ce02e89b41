import { createHash } from 'node:crypto';

/** The limit and alphabet the LLM APIs share for tool names (Anthropic, OpenAI, Gemini). */
export const MAX_TOOL_NAME_LENGTH = 64;
const INVALID_CHARACTERS = /[^a-zA-Z0-9_-]/g;

function shortHash(value: string, length = 6): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

function fitToLimit(name: string, fullIdentity: string): string {
  if (name.length <= MAX_TOOL_NAME_LENGTH) return name;
  const suffix = `_${shortHash(fullIdentity)}`;
  return `${name.slice(0, MAX_TOOL_NAME_LENGTH - suffix.length)}${suffix}`;
}

/** One provider of a session whose tools get names. */
export interface ToolNamespace {
  providerId: string;
  deploymentId: string;
}

/**
 * The name prefix of each provider in a session: the provider id, or, when the session has several
 * deployments of the same provider, the provider id qualified by a hash of the deployment id. Both
 * depend only on the session's providers, so names do not change from one session to the next.
 */
export function namespacePrefixes(namespaces: ToolNamespace[]): Map<string, string> {
  const deploymentsPerProvider = new Map<string, number>();
  for (const namespace of namespaces) {
    deploymentsPerProvider.set(namespace.providerId, (deploymentsPerProvider.get(namespace.providerId) ?? 0) + 1);
  }
  return new Map(
    namespaces.map((namespace) => {
      const base = namespace.providerId.replace(INVALID_CHARACTERS, '_');
      const prefix = (deploymentsPerProvider.get(namespace.providerId) ?? 0) > 1 ? `${base}-${shortHash(namespace.deploymentId)}` : base;
      return [namespace.deploymentId, prefix];
    }),
  );
}

/**
 * Stable, collision-free names for one provider's tools: `<prefix>__<tool>`, with characters the LLM
 * APIs refuse replaced by `_`, cut to 64 characters with a hash of the original when too long, and a
 * hash suffix for tools whose cleaned names would clash. Returns original name → exposed name.
 */
export function exposedToolNames(prefix: string, originalNames: string[]): Map<string, string> {
  const result = new Map<string, string>();
  const taken = new Set<string>();
  // Sorted, so which of two clashing tools gets the suffix does not depend on the server's order.
  for (const original of [...originalNames].sort()) {
    let name = fitToLimit(`${prefix}__${original.replace(INVALID_CHARACTERS, '_')}`, `${prefix}__${original}`);
    if (taken.has(name)) {
      const suffix = `_${shortHash(original)}`;
      name = `${name.slice(0, MAX_TOOL_NAME_LENGTH - suffix.length)}${suffix}`;
    }
    taken.add(name);
    result.set(original, name);
  }
  return result;
}
