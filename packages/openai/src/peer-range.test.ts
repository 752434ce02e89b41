import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The peer range promises the versions of `openai` the adapter works with. It may only name
// what is type-checked and tested here: the devDependency, which follows the workspace root's.
function readManifest(path: string): { version?: string; engines?: { node?: string }; devDependencies?: Record<string, string>; peerDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8')) as ReturnType<typeof readManifest>;
}

function parts(version: string): number[] {
  return version.split('.').map(Number);
}

describe('@gatehouse/openai peer dependency', () => {
  it('promises only the openai versions it is type-checked and tested against', () => {
    const manifest = readManifest('../package.json');
    const root = readManifest('../../../package.json');
    const peer = manifest.peerDependencies?.openai ?? '';
    const dev = manifest.devDependencies?.openai;
    expect(dev).toBe(root.devDependencies?.openai);
    expect(peer).toBe(dev);
    // A caret range from the tested version: same major, nothing older.
    const floor = /^\^(\d+\.\d+\.\d+)$/.exec(peer)?.[1];
    expect(floor).toBeDefined();
    const installed = readManifest('../../../node_modules/openai/package.json').version!;
    const [major, minor, patch] = parts(installed);
    const [floorMajor, floorMinor, floorPatch] = parts(floor!);
    expect(major).toBe(floorMajor);
    expect(minor! * 1e6 + patch!).toBeGreaterThanOrEqual(floorMinor! * 1e6 + floorPatch!);
  });

  it('names an openai that runs on Node 20, the oldest Node the workspace supports', () => {
    // openai 7 requires Node 22; the 6.x line declares no engines.
    const installed = readManifest('../../../node_modules/openai/package.json');
    const floor = /^>=\s*(\d+)/.exec(installed.engines?.node ?? '>=0')?.[1];
    expect(Number(floor)).toBeLessThanOrEqual(20);
  });
});
