/**
 * The built-in provider catalog: `catalog/providers.yaml`, read once at start-up, validated with
 * {@link providerDefinitionSchema}, and served read-only.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { providerDefinitionSchema, type ProviderDefinition } from './provider-schema.js';

/**
 * Where the shipped catalog lives. Resolved relative to this module so that it works both from
 * `src/catalog/` (tests, tsx) and from the built `dist/catalog/`: both are two levels below the package.
 */
export const DEFAULT_CATALOG_URL = new URL('../../catalog/providers.yaml', import.meta.url);

/** One problem found in a catalog file. */
export interface CatalogIssue {
  /** Index of the provider in the file's list; undefined for a problem with the file as a whole. */
  index?: number;
  /** The provider's `id`, when it has a readable one. */
  providerId?: string;
  /** Field path inside the provider, e.g. `authMethods.0.tokenUrl`; empty for the provider itself. */
  path: string;
  message: string;
}

/** The catalog file is missing, is not YAML, or holds an invalid or duplicate provider definition. */
export class CatalogError extends Error {
  constructor(
    /** The file that was read. */
    readonly source: string,
    /** Every problem found (all of them, not just the first). */
    readonly issues: readonly CatalogIssue[],
  ) {
    super(`Invalid provider catalog ${source}:\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`);
    this.name = 'CatalogError';
  }
}

function formatIssue(issue: CatalogIssue): string {
  let where = issue.index === undefined ? 'catalog' : `providers[${issue.index}]`;
  if (issue.providerId !== undefined) where += ` (id "${issue.providerId}")`;
  if (issue.path !== '') where += ` ${issue.path}`;
  return `${where}: ${issue.message}`;
}

/** Freezes a parsed definition all the way down, so that no caller can change the shared catalog. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A read-only set of provider definitions, looked up by id. */
export class ProviderCatalog {
  readonly #byId = new Map<string, ProviderDefinition>();
  readonly #list: readonly ProviderDefinition[];

  /**
   * @param definitions already validated definitions; they are frozen.
   * @throws Error when two definitions share an id.
   */
  constructor(definitions: readonly ProviderDefinition[]) {
    for (const definition of definitions) {
      if (this.#byId.has(definition.id)) {
        throw new Error(`Duplicate provider id "${definition.id}" in the catalog.`);
      }
      this.#byId.set(definition.id, deepFreeze(definition));
    }
    this.#list = Object.freeze([...this.#byId.values()]);
  }

  /** The definition with this id, or undefined. */
  get(id: string): ProviderDefinition | undefined {
    return this.#byId.get(id);
  }

  /** Whether the catalog has a provider with this id. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Every definition, in file order. */
  list(): readonly ProviderDefinition[] {
    return this.#list;
  }

  /** How many providers the catalog has. */
  get size(): number {
    return this.#byId.size;
  }
}

/**
 * Validates parsed catalog data (a list of provider definitions) and builds the catalog.
 *
 * @param data the parsed YAML document.
 * @param source names the origin in error messages.
 * @throws CatalogError listing every invalid field (with provider index, id and field path) and every
 *   duplicate id.
 */
export function buildCatalog(data: unknown, source = 'catalog'): ProviderCatalog {
  if (!Array.isArray(data)) {
    throw new CatalogError(source, [{ path: '', message: 'the file must be a YAML list of provider definitions' }]);
  }
  const issues: CatalogIssue[] = [];
  const definitions: ProviderDefinition[] = [];
  const firstIndexById = new Map<string, number>();
  data.forEach((entry: unknown, index) => {
    const rawId =
      entry !== null && typeof entry === 'object' && typeof (entry as { id?: unknown }).id === 'string'
        ? (entry as { id: string }).id
        : undefined;
    const result = providerDefinitionSchema.safeParse(entry);
    if (!result.success) {
      for (const issue of result.error.issues) {
        issues.push({ index, providerId: rawId, path: issue.path.map(String).join('.'), message: issue.message });
      }
      return;
    }
    const { id } = result.data;
    const previous = firstIndexById.get(id);
    if (previous !== undefined) {
      issues.push({ index, providerId: id, path: 'id', message: `duplicate provider id (also providers[${previous}])` });
      return;
    }
    firstIndexById.set(id, index);
    definitions.push(result.data);
  });
  if (issues.length > 0) throw new CatalogError(source, issues);
  return new ProviderCatalog(definitions);
}

/**
 * Reads, validates and returns a provider catalog.
 *
 * @param path the YAML file; the shipped `catalog/providers.yaml` when omitted.
 * @throws CatalogError when the file cannot be read or parsed, or holds an invalid or duplicate definition.
 */
export function loadCatalog(path?: string | URL): ProviderCatalog {
  const location = path ?? DEFAULT_CATALOG_URL;
  const source = location instanceof URL ? fileURLToPath(location) : location;
  let text: string;
  try {
    text = readFileSync(location, 'utf8');
  } catch (error) {
    throw new CatalogError(source, [{ path: '', message: `cannot read the file: ${(error as Error).message}` }]);
  }
  let data: unknown;
  try {
    // uniqueKeys (the default) refuses a key given twice; maxAliasCount bounds alias expansion.
    data = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (error) {
    throw new CatalogError(source, [{ path: '', message: `not valid YAML: ${(error as Error).message}` }]);
  }
  return buildCatalog(data, source);
}
