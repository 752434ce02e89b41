import { describe, expect, it } from 'vitest';
import { exposedToolNames, MAX_TOOL_NAME_LENGTH, namespacePrefixes } from './tool-names.js';

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;

describe('tool names', () => {
  it('prefixes tools with their provider and keeps them the same from session to session', () => {
    const first = exposedToolNames('github', ['create_issue', 'search']);
    const again = exposedToolNames('github', ['search', 'create_issue']);
    expect(first.get('create_issue')).toBe('github__create_issue');
    expect([...first.entries()].sort()).toEqual([...again.entries()].sort());
  });

  it('replaces characters the LLM APIs refuse and stays within 64 characters', () => {
    const names = exposedToolNames('google-calendar', ['events.list', 'a'.repeat(120), 'weird name/with:chars']);
    for (const name of names.values()) expect(name).toMatch(VALID);
    expect(names.get('events.list')).toBe('google-calendar__events_list');
    expect(names.get('a'.repeat(120))!.length).toBe(MAX_TOOL_NAME_LENGTH);
  });

  it('keeps two tools apart whose cleaned names would clash', () => {
    const names = exposedToolNames('acme', ['read.file', 'read_file']);
    expect(new Set(names.values()).size).toBe(2);
    for (const name of names.values()) expect(name).toMatch(VALID);
  });

  it('keeps long names that differ only at the end apart', () => {
    const long = 'x'.repeat(70);
    const names = exposedToolNames('acme', [`${long}1`, `${long}2`]);
    expect(new Set(names.values()).size).toBe(2);
  });

  it('qualifies the prefix by deployment only when a session has the same provider twice', () => {
    const single = namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_a' }, { providerId: 'slack', deploymentId: 'pde_b' }]);
    expect(single.get('pde_a')).toBe('github');
    const double = namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_a' }, { providerId: 'github', deploymentId: 'pde_c' }]);
    expect(double.get('pde_a')).toMatch(/^github-[0-9a-f]{6}$/);
    expect(double.get('pde_a')).not.toBe(double.get('pde_c'));
    expect(namespacePrefixes([{ providerId: 'github', deploymentId: 'pde_c' }, { providerId: 'github', deploymentId: 'pde_a' }]).get('pde_a')).toBe(double.get('pde_a'));
  });
});
