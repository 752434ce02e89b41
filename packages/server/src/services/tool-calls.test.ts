import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/gatehouse.js';
import type { ServerContext } from '../context.js';
import { newId } from '../ids.js';
import { openEmbeddedStore, type Store } from '../store/database.js';
import { ensureBootstrapProject } from './projects.js';
import { listToolCalls, recordToolCall } from './tool-calls.js';

describe('tool call records', () => {
  let store: Store;
  let context: ServerContext;
  let projectId: string;
  beforeAll(async () => {
    store = await openEmbeddedStore(tempDir(), pino({ level: 'silent' }));
    // Records only need the database (and a project to belong to).
    context = { db: store.db, clock: { now: () => new Date() } } as ServerContext;
    projectId = (await ensureBootstrapProject(store.db, { bootstrapApiKey: undefined, allowedRedirectUrls: undefined })).projectId;
  });
  afterAll(async () => {
    await store?.close();
  });

  const recordOf = (sessionId: string, toolName: string, id = newId('toolCall')) => ({
    id,
    projectId: projectId,
    sessionId,
    toolName,
    status: 'succeeded' as const,
    isError: false,
    durationMs: 3,
    argumentsPreview: '{"q":"a\u0000b"}',
  });

  it('writes every record of calls that finish together, each resolved with its own row', async () => {
    const sessionId = newId('session');
    const stored = await Promise.all(Array.from({ length: 250 }, (_, index) => recordToolCall(context, recordOf(sessionId, `tool_${index}`))));
    expect(stored.map((row) => row.toolName)).toEqual(Array.from({ length: 250 }, (_, index) => `tool_${index}`));
    expect(stored[0]!.argumentsPreview).toBe('{"q":"a\uFFFDb"}');
    // What the caller gets is what a reader of the table gets.
    const [first] = (await listToolCalls(context, projectId, sessionId, { limit: 250 })).data.filter((row) => row.id === stored[0]!.id);
    expect(stored[0]).toEqual(first);
    const listed = await listToolCalls(context, projectId, sessionId, { limit: 100 });
    expect(listed.data).toHaveLength(100);
    expect(listed.nextCursor).not.toBeNull();
  });

  it('fails only the record that cannot be written, not the others written with it', async () => {
    const sessionId = newId('session');
    const taken = newId('toolCall');
    await recordToolCall(context, recordOf(sessionId, 'first', taken));
    const outcomes = await Promise.allSettled([
      recordToolCall(context, recordOf(sessionId, 'before')),
      recordToolCall(context, recordOf(sessionId, 'duplicate', taken)),
      recordToolCall(context, recordOf(sessionId, 'after')),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const listed = await listToolCalls(context, projectId, sessionId, { limit: 10 });
    expect(listed.data.map((row) => row.toolName).sort()).toEqual(['after', 'before', 'first']);
  });
});
