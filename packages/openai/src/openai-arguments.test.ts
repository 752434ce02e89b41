import { describe, expect, it } from 'vitest';
import { parseToolArguments } from './openai-arguments.js';

describe('parseToolArguments', () => {
  it('parses a JSON object, keeping every property as written', () => {
    expect(parseToolArguments('t', '{"repo":"app","labels":["bug"],"user_id":7,"nested":{"a":null}}')).toEqual({
      ok: true,
      args: { repo: 'app', labels: ['bug'], user_id: 7, nested: { a: null } },
    });
  });

  it('takes an empty, blank, null or missing string as no arguments', () => {
    for (const json of ['', '  \n', 'null', undefined, null]) expect(parseToolArguments('t', json)).toEqual({ ok: true, args: {} });
  });

  it('answers invalid JSON with a message naming the tool and asking for a JSON object', () => {
    const parsed = parseToolArguments('github__create_issue', '{"title": "Crash",');
    expect(parsed.ok).toBe(false);
    const message = parsed.ok ? '' : parsed.message;
    expect(message).toContain('The arguments of tool "github__create_issue" are not valid JSON (');
    expect(message).toContain('Call it again with a JSON object.');
    expect(message.length).toBeLessThan(400);
  });

  it.each([['[1,2]'], ['"query"'], ['42'], ['true']])('refuses JSON that is not an object: %s', (json) => {
    expect(parseToolArguments('exa__search', json)).toEqual({ ok: false, message: 'The arguments of tool "exa__search" must be a JSON object.' });
  });

  it('refuses arguments that are not a string at all', () => {
    expect(parseToolArguments('t', { already: 'parsed' })).toMatchObject({ ok: false });
  });
});
