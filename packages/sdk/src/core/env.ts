/**
 * Reads an environment variable where one exists (Node, Bun, Deno with `process` compatibility) and
 * returns `undefined` elsewhere (browsers, edge runtimes), without referencing Node types.
 *
 * @param name - the variable name, e.g. `GATEHOUSE_API_KEY`
 * @returns the trimmed value, or `undefined` when unset, empty or unavailable
 * @internal
 */
export function readEnv(name: string): string | undefined {
  const runtime = globalThis as { process?: { env?: Record<string, string | undefined> } };
  try {
    const value = runtime.process?.env?.[name]?.trim();
    return value ? value : undefined;
  } catch {
    // Some sandboxes expose `process.env` as a proxy that throws on access.
    return undefined;
  }
}
