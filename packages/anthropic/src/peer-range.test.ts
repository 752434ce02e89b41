import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The peer range promises the versions of `@anthropic-ai/sdk` the adapter works with. It may only name
// what is type-checked and tested here: the devDependency, which follows the workspace root's.
function readManifest(path: string): { version?: string; devDependencies?: Record<string, string>; peerDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8')) as ReturnType<typeof readManifest>;
}

function parts(version: string): number[] {
  return version.split('.').map(Number);
}

describe('@gatehouse/anthropic peer dependency', () => {
  it('promises only the @anthropic-ai/sdk versions it is type-checked and tested against', () => {
    const manifest = readManifest('../package.json');
    const root = readManifest('../../../package.json');
    const peer = manifest.peerDependencies?.['@anthropic-ai/sdk'] ?? '';
    const dev = manifest.devDependencies?.['@anthropic-ai/sdk'];
    expect(dev).toBe(root.devDependencies?.['@anthropic-ai/sdk']);
    expect(peer).toBe(dev);
    // A caret range from the tested version: same major, nothing older.
    const floor = /^\^(\d+\.\d+\.\d+)$/.exec(peer)?.[1];
    expect(floor).toBeDefined();
    const installed = readManifest('../../../node_modules/@anthropic-ai/sdk/package.json').version!;
    const [major, minor, patch] = parts(installed);
    const [floorMajor, floorMinor, floorPatch] = parts(floor!);
    expect(major).toBe(floorMajor);
    expect(minor! * 1e6 + patch!).toBeGreaterThanOrEqual(floorMinor! * 1e6 + floorPatch!);
  });
});
