import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The adapter runs wherever the SDK runs (browsers, edge runtimes) and needs nothing at run time: it
// takes `openai` and `@gatehouse/sdk` for their types only, so its sources import packages
// with `import type` and its built files import only each other.
const packageRoot = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(suffix) && !file.includes('.test.'))
    .map((file) => join(dir, file));
}

function runtimeImports(code: string): string[] {
  const withoutComments = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...withoutComments.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s*['"]([^'"]+)['"]/gm)].map((match) => match[1] as string);
}

describe('@gatehouse/openai has no run-time dependencies', () => {
  it('imports packages for their types only', () => {
    const sources = files(join(packageRoot, 'src'), '.ts');
    expect(sources.length).toBeGreaterThanOrEqual(4);
    expect(runtimeImports("import type A from 'openai';\nimport { b } from './b.js';\nimport x from 'x';")).toEqual(['./b.js', 'x']);
    const found = sources.flatMap((file) => runtimeImports(readFileSync(file, 'utf8')).filter((specifier) => !specifier.startsWith('./')));
    expect(found).toEqual([]);
  });

  it.skipIf(!existsSync(join(packageRoot, 'dist', 'index.js')))('builds to files that import only each other', () => {
    const built = files(join(packageRoot, 'dist'), '.js');
    const found = built.flatMap((file) => runtimeImports(readFileSync(file, 'utf8')).filter((specifier) => !specifier.startsWith('./')));
    expect(found).toEqual([]);
  });
});
