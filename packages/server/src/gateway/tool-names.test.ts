import { describe, expect, it } from 'vitest';
import { PROVIDER_ID_PATTERN } from '../catalog/provider-schema.js';
import { exposedToolNames, MAX_TOOL_NAME_LENGTH, namespacePrefixes, prefixOf, toolNameLookup, toolNamePrefix } from './tool-names.js';

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;

/** Resolves a name the way the gateway does: the prefix picks the deployment, its lookup the tool. */
function resolve(
  name: string,
  deployments: Array<{ deploymentId: string; prefix: string; tools: string[] }>,
): { deploymentId: string; original: string } | undefined {
  const deployment = deployments.find((candidate) => candidate.prefix === prefixOf(name));
  const original = deployment ? toolNameLookup(deployment.prefix, deployment.tools).get(name) : undefined;
  return deployment && original !== undefined ? { deploymentId: deployment.deploymentId, original } : undefined;
}

function providerIdOfLength(length: number): string {
  const id = `p${'abcdefghij-0123456789'.repeat(4)}`.slice(0, length);
  expect(id).toMatch(PROVIDER_ID_PATTERN);
  return id;
}

describe('tool names', () => {
  it('prefixes tools with their provider and keeps them the same whatever the order', () => {
    const first = exposedToolNames('github', ['create_issue', 'search']);
    const again = exposedToolNames('github', ['search', 'create_issue']);
    expect(first.get('create_issue')).toBe('github__create_issue');
    expect([...first.entries()].sort()).toEqual([...again.entries()].sort());
  });

  it('replaces characters the LLM APIs refuse and stays within 64 characters', () => {
    const names = exposedToolNames('google-calendar', ['events.list', 'a'.repeat(120), 'weird name/with:chars']);
    for (const name of names.values()) expect(name).toMatch(VALID);
    expect(names.get('events.list')).toMatch(/^google-calendar__events_list_[0-9a-f]{8}$/);
    expect(names.get('a'.repeat(120))!.length).toBe(MAX_TOOL_NAME_LENGTH);
  });

  it("gives a tool the same name whatever other tools the server lists, also when their cleaned names clash", () => {
    const alone = exposedToolNames('acme', ['read.file']);
    const withClash = exposedToolNames('acme', ['read_file', 'read.file', 'read:file']);
    expect(withClash.get('read.file')).toBe(alone.get('read.file'));
    expect(withClash.get('read_file')).toBe('acme__read_file');
    expect(new Set(withClash.values()).size).toBe(3);
    for (const name of withClash.values()) expect(name).toMatch(VALID);
  });

  it('keeps long names that differ only at the end apart', () => {
    const long = 'x'.repeat(70);
    const names = exposedToolNames('acme', [`${long}1`, `${long}2`]);
    expect(new Set(names.values()).size).toBe(2);
    expect(exposedToolNames('acme', [`${long}1`]).get(`${long}1`)).toBe(names.get(`${long}1`));
  });

  it('names a deployment the same in every session: plain for the primary deployment, qualified for any other', () => {
    const primary = toolNamePrefix('github', 'pde_a', true);
    const second = toolNamePrefix('github', 'pde_c', false);
    expect(primary).toBe('github');
    expect(second).toMatch(/^github_[0-9a-f]{8}$/);
    expect(toolNamePrefix('github', 'pde_d', false)).not.toBe(second);
    // Sessions with different provider mixes: the stored prefixes, not the mix, decide.
    const onlySecond = namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_c', toolPrefix: second }]);
    const both = namespacePrefixes([
      { providerId: 'github', deploymentId: 'pde_a', toolPrefix: primary },
      { providerId: 'slack', deploymentId: 'pde_s', toolPrefix: 'slack' },
      { providerId: 'github', deploymentId: 'pde_c', toolPrefix: second },
    ]);
    const onlyPrimary = namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_a', toolPrefix: primary }]);
    expect(onlySecond.get('pde_c')).toBe(both.get('pde_c'));
    expect(onlyPrimary.get('pde_a')).toBe(both.get('pde_a'));
    expect(both.get('pde_a')).not.toBe(both.get('pde_c'));
  });

  it('keeps a primary prefix and a qualified one apart even when a provider id looks like a qualified prefix', () => {
    const qualified = toolNamePrefix('github', 'pde_c', false);
    const lookalike = toolNamePrefix(qualified.replace('_', '-'), 'pde_x', true);
    expect(lookalike).not.toBe(qualified);
    expect(prefixOf(`${qualified}__x`)).toBe(qualified);
  });

  for (const length of [49, 58, 63]) {
    it(`resolves every tool of a ${length}-character provider id, with long tool names, to its deployment and tool`, () => {
      const providerId = providerIdOfLength(length);
      const tools = ['search', 'create_issue_with_a_rather_long_descriptive_name_for_the_model', 'x'.repeat(80), 'list.items', '_private'];
      const deployments = [
        { deploymentId: 'pde_long', prefix: toolNamePrefix(providerId, 'pde_long', true), tools },
        { deploymentId: 'pde_long2', prefix: toolNamePrefix(providerId, 'pde_long2', false), tools },
        { deploymentId: 'pde_gh', prefix: toolNamePrefix('github', 'pde_gh', true), tools: ['search'] },
      ];
      const seen = new Set<string>();
      for (const deployment of deployments) {
        for (const [original, name] of exposedToolNames(deployment.prefix, deployment.tools)) {
          expect(name).toMatch(VALID);
          expect(name.startsWith(`${deployment.prefix}__`)).toBe(true);
          expect(resolve(name, deployments)).toEqual({ deploymentId: deployment.deploymentId, original });
          seen.add(name);
        }
      }
      expect(seen.size).toBe(tools.length * 2 + 1);
    });
  }

  it('resolves no name that the session does not expose', () => {
    const deployments = [{ deploymentId: 'pde_a', prefix: 'github', tools: ['search'] }];
    expect(resolve('github__nope', deployments)).toBeUndefined();
    expect(resolve('github_search', deployments)).toBeUndefined();
    expect(resolve('slack__search', deployments)).toBeUndefined();
  });

  it('falls back, for a session stored without prefixes, to qualifying a provider it has twice', () => {
    const single = namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_a' }, { providerId: 'slack', deploymentId: 'pde_b' }]);
    expect(single.get('pde_a')).toBe('github');
    const double = namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_a' }, { providerId: 'github', deploymentId: 'pde_c' }]);
    expect(double.get('pde_a')).toMatch(/^github_[0-9a-f]{8}$/);
    expect(double.get('pde_a')).not.toBe(double.get('pde_c'));
  });
});
