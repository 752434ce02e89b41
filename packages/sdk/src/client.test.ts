import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Gatehouse, GatehouseError, VERSION } from './index.js';

describe('Gatehouse client', () => {
  const saved = process.env.GATEHOUSE_API_KEY;
  afterEach(() => {
    if (saved === undefined) delete process.env.GATEHOUSE_API_KEY;
    else process.env.GATEHOUSE_API_KEY = saved;
  });

  it('throws a clear error when no API key is given or set in the environment', () => {
    delete process.env.GATEHOUSE_API_KEY;
    expect(() => new Gatehouse()).toThrow(GatehouseError);
    expect(() => new Gatehouse({ apiKey: undefined })).toThrow(/GATEHOUSE_API_KEY/);
  });

  it('falls back to GATEHOUSE_API_KEY, as the seed code passes process.env.GATEHOUSE_API_KEY', () => {
    process.env.GATEHOUSE_API_KEY = 'gh_from_env';
    const gatehouse = new Gatehouse({ apiKey: process.env.GATEHOUSE_API_KEY, baseUrl: 'http://127.0.0.1:4310' });
    expect(gatehouse.apiKey).toBe('gh_from_env');
    expect(new Gatehouse().apiKey).toBe('gh_from_env');
  });

  it('works where `process` does not exist', () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'process');
    Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
    try {
      expect(() => new Gatehouse()).toThrow(/Missing Gatehouse API key/);
      expect(new Gatehouse({ apiKey: 'gh_x' }).baseUrl).toBe('http://127.0.0.1:4310');
    } finally {
      Object.defineProperty(globalThis, 'process', descriptor as PropertyDescriptor);
    }
  });

  it('keeps the API key out of enumeration and JSON', () => {
    const gatehouse = new Gatehouse({ apiKey: 'gh_secret_value', baseUrl: 'http://example.test/' });
    expect(Object.keys(gatehouse)).not.toContain('apiKey');
    expect(JSON.stringify(gatehouse)).not.toContain('gh_secret_value');
    expect(gatehouse.baseUrl).toBe('http://example.test');
  });

  it('rejects invalid options', () => {
    expect(() => new Gatehouse({ apiKey: 'k', maxRetries: -1 })).toThrow(/maxRetries/);
    expect(() => new Gatehouse({ apiKey: 'k', timeout: 0 })).toThrow(/timeout/);
  });

  it('reports the package version', () => {
    const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(packageJson.version);
  });
});
