import { describe, expect, it } from 'vitest';
import { MessageSizeGuard } from './message-size-guard.js';

function run(mode: 'line' | 'event', max: number, chunks: string[]) {
  const oversized: Array<string | null> = [];
  let runaways = 0;
  const guard = new MessageSizeGuard(max, mode, { onOversized: (id) => oversized.push(id), onRunaway: () => runaways++ });
  const passed = chunks.flatMap((chunk) => guard.push(Buffer.from(chunk))).concat(guard.flush());
  return { passed: Buffer.concat(passed).toString(), oversized, runaways };
}

describe('message size guard', () => {
  it('passes stdio lines within the cap on whole, in chunks of any size, and drops a larger one reporting its id', () => {
    const small = '{"jsonrpc":"2.0","id":1,"result":{}}\n';
    const big = `{"result":{"content":[{"type":"text","text":"${'x'.repeat(500)}"}]},"jsonrpc":"2.0","id":2}\n`;
    const after = '{"jsonrpc":"2.0","id":3,"result":{}}\n';
    const stream = small + big + after;
    for (const size of [1, 7, 64, stream.length]) {
      const chunks = stream.match(new RegExp(`[^]{1,${size}}`, 'g'))!;
      expect(run('line', 100, chunks)).toEqual({ passed: small + after, oversized: ['2'], runaways: 0 });
    }
  });

  it('finds the id at the start of an oversized message, and a string id', () => {
    const big = `{"jsonrpc":"2.0","id":"call-\\"7","result":{"text":"${'y'.repeat(300)}","id":99}}\n`;
    expect(run('line', 100, [big]).oversized).toEqual(['"call-\\"7"']);
  });

  it('drops an oversized SSE event whole and keeps the events around it', () => {
    const endpoint = 'event: endpoint\ndata: /messages?sessionId=1\n\n';
    const big = `event: message\r\ndata: {"result":{"text":"${'z'.repeat(400)}"},"jsonrpc":"2.0","id":5}\r\n\r\n`;
    const next = 'event: message\ndata: {"jsonrpc":"2.0","id":6,"result":{}}\n\n';
    expect(run('event', 200, [endpoint, big.slice(0, 150), big.slice(150), next])).toEqual({ passed: endpoint + next, oversized: ['5'], runaways: 0 });
  });

  it('gives up on a message that never ends', () => {
    expect(run('line', 10, ['a'.repeat(1000)]).runaways).toBe(1);
  });
});
