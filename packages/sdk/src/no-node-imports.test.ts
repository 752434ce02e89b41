import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The SDK must run in browsers and edge runtimes: no Node-only module, and (zero dependencies) no
// package at all. Checks the sources and, once built, what ships in dist/.
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const sourceDir = join(packageRoot, 'src');
const distDir = join(packageRoot, 'dist');

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => join(dir, file))
    .filter(keep);
}

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '...', export * from '...'
  /\bimport\s*['"]([^'"]+)['"]/g, // import '...'
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('...')
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // require('...')
];

/** Drops comments (the TSDoc `@example`s import `@gatehouse/sdk`, as users do). */
function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

function specifiers(source: string): string[] {
  const code = withoutComments(source);
  return IMPORT_PATTERNS.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1] as string));
}

const builtins = new Set(builtinModules.flatMap((name) => [name, name.split('/')[0] as string]));

function problems(files: string[], root: string): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      const isNode = specifier.startsWith('node:') || builtins.has(specifier) || builtins.has(specifier.split('/')[0] as string);
      const isPackage = !specifier.startsWith('./') && !specifier.startsWith('../');
      if (isNode || isPackage) found.push(`${relative(root, file)} imports '${specifier}'`);
    }
  }
  return found;
}

describe('the SDK imports nothing Node-only', () => {
  const sources = filesUnder(sourceDir, (file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));

  it('has sources to check, and the checker catches a Node import', () => {
    expect(sources.length).toBeGreaterThan(5);
    expect(
      specifiers(`/** import { A } from 'ignored'; */\nimport { readFileSync } from 'node:fs';\nimport type { X } from "./x.js";\nconst m = await import('crypto');`),
    ).toEqual([
      'node:fs',
      './x.js',
      'crypto',
    ]);
  });

  it('its sources import only their own relative modules', () => {
    expect(problems(sources, packageRoot)).toEqual([]);
  });

  it.skipIf(!existsSync(join(distDir, 'index.js')))('its built files import only their own relative modules', async () => {
    const built = filesUnder(distDir, (file) => file.endsWith('.js') || file.endsWith('.d.ts'));
    expect(built.some((file) => file.endsWith('.test.js'))).toBe(false);
    expect(problems(built, packageRoot)).toEqual([]);
    const entry = (await import(join(distDir, 'index.js'))) as Record<string, unknown>;
    expect(typeof entry.Gatehouse).toBe('function');
  });
});
