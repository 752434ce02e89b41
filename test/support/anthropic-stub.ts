/**
 * A local stand-in for the Anthropic Messages API (`POST /v1/messages`, non-streaming) on 127.0.0.1
 * with an ephemeral port, for the real `@anthropic-ai/sdk`:
 *
 *   const stub = await startAnthropicStub(callEachToolOnceThenSummarize([/^github__/]));
 *   const anthropic = new Anthropic({ apiKey: 'test', baseURL: stub.url, maxRetries: 0 });
 *
 * A script decides each answer from the request (text, tool_use blocks, or an API error); the stub
 * wraps it in a valid `Message` and records every request, so tests can assert the tools sent and
 * the tool_result blocks (with `is_error`) that came back.
 *
 * Note: the SDK retries 408/409/429/5xx answers (twice by default); pass `maxRetries: 0` when a
 * script answers errors and the test counts requests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type Anthropic from '@anthropic-ai/sdk';

type MessageCreateParams = Anthropic.MessageCreateParamsNonStreaming;
type ContentBlockParam = Anthropic.ContentBlockParam;
type ToolResultBlockParam = Anthropic.ToolResultBlockParam;

export interface StubRequest {
  /** 0 for the first request the stub got, then 1, 2 ... */
  index: number;
  /** The parsed JSON body as the SDK sent it. */
  body: MessageCreateParams;
  headers: IncomingHttpHeaders;
  /** Date.now() when it arrived. */
  at: number;
}

export interface StubToolUse {
  name: string;
  /** Default `{}`. */
  input?: unknown;
  /** Default: a fresh `toolu_…` id. */
  id?: string;
}

export type StubReply =
  /** An assistant text; `stop_reason` defaults to `end_turn`. */
  | { text: string; stopReason?: Anthropic.StopReason }
  /** `tool_use` blocks (after an optional text block); `stop_reason: 'tool_use'`. */
  | { toolUses: StubToolUse[]; text?: string }
  /** An API error answer, e.g. `{ status: 529, type: 'overloaded_error' }`. */
  | { error: { status: number; type?: string; message?: string; headers?: Record<string, string> } };

export type StubScript = (request: StubRequest) => StubReply | Promise<StubReply>;

export interface StubRecord extends StubRequest {
  /** The HTTP status answered. */
  status: number;
  /** The Message answered (undefined for error answers). */
  response?: Anthropic.Message;
}

export interface AnthropicStub {
  /** `http://127.0.0.1:<port>`: the SDK's `baseURL`. */
  url: string;
  /** Every request received so far (auth failures and bad bodies included), oldest first. */
  requests(): StubRecord[];
  /** Replace the script for the following requests. */
  setScript(script: StubScript): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024; // the real API's request size limit

function fresh(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('base64url')}`;
}

function estimateTokens(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

/** The tool_result blocks of the request's last user message (empty when there are none). */
export function toolResultsOf(body: Pick<MessageCreateParams, 'messages'>): ToolResultBlockParam[] {
  const last = body.messages.at(-1);
  if (!last || last.role !== 'user' || typeof last.content === 'string') return [];
  return (last.content as ContentBlockParam[]).filter((b): b is ToolResultBlockParam => b.type === 'tool_result');
}

/** The text of a tool_result block: its string content, or its text blocks joined by newlines. */
export function toolResultText(block: ToolResultBlockParam): string {
  if (block.content === undefined) return '';
  if (typeof block.content === 'string') return block.content;
  return block.content
    .filter((c): c is Anthropic.TextBlockParam => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** A placeholder value for a JSON schema: the first enum value, '', 'test', 1, false, [], {} ... */
function exampleFor(schema: unknown): unknown {
  const s = (typeof schema === 'object' && schema !== null ? schema : {}) as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('const' in s) return s.const;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return 'test';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' && s.minimum > 1 ? s.minimum : 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'null':
      return null;
    case 'object':
    default: {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      return Object.fromEntries(required.map((key) => [key, exampleFor(properties[key])]));
    }
  }
}

/** Arguments for a tool from its input_schema: every required property gets a placeholder. */
export function exampleInput(tool: Pick<Anthropic.Tool, 'input_schema'>): Record<string, unknown> {
  return exampleFor({ ...tool.input_schema, type: 'object' }) as Record<string, unknown>;
}

export interface CallEachToolOptions {
  /** The input of each tool_use; default `exampleInput(tool)`. */
  input?: (tool: Anthropic.Tool) => unknown;
}

/**
 * First turn: one tool_use per tool of the request's `tools` whose name matches any of the
 * patterns (in the order of `tools`, so whatever names the gateway gave them). Second turn (the
 * last user message carries tool_result blocks): a text concatenating the tool_result texts, one
 * per line, in the order they came. With no matching tool the answer is the text `no matching tools`.
 */
export function callEachToolOnceThenSummarize(toolNamesMatching: RegExp[], options: CallEachToolOptions = {}): StubScript {
  return ({ body }) => {
    const results = toolResultsOf(body);
    if (results.length > 0) return { text: results.map(toolResultText).join('\n') };
    const tools = (body.tools ?? []).filter(
      (t): t is Anthropic.Tool => 'input_schema' in t && typeof t.name === 'string',
    );
    const matching = tools.filter((t) => toolNamesMatching.some((re) => new RegExp(re.source, re.flags.replace('g', '')).test(t.name)));
    if (matching.length === 0) return { text: 'no matching tools' };
    return { toolUses: matching.map((t) => ({ name: t.name, input: options.input ? options.input(t) : exampleInput(t) })) };
  };
}

function errorBody(type: string, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

function errorTypeFor(status: number): string {
  if (status === 400) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  return 'api_error';
}

export async function startAnthropicStub(script: StubScript): Promise<AnthropicStub> {
  let current = script;
  const records: StubRecord[] = [];

  function send(res: ServerResponse, status: number, body: unknown, requestId: string, headers: Record<string, string> = {}): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      'request-id': requestId,
    });
    res.end(payload);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = fresh('req_');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'POST' || path !== '/v1/messages') {
      req.resume();
      send(res, 404, errorBody('not_found_error', `${req.method} ${path} is not served by the stub`, requestId), requestId);
      return;
    }

    const record: StubRecord = {
      index: records.length,
      body: undefined as unknown as MessageCreateParams,
      headers: req.headers,
      at: Date.now(),
      status: 0,
    };
    records.push(record);
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      record.status = status;
      send(res, status, body, requestId, headers);
    };

    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += buf.length;
      if (size > MAX_BODY_BYTES) {
        answer(413, errorBody('request_too_large', `request body over ${MAX_BODY_BYTES} bytes`, requestId), {
          connection: 'close',
        });
        return;
      }
      chunks.push(buf);
    }
    let body: MessageCreateParams;
    try {
      body = JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as MessageCreateParams;
    } catch {
      answer(400, errorBody('invalid_request_error', 'the body is not valid JSON', requestId));
      return;
    }
    record.body = body;

    const bearer = /^Bearer\s+\S+/i.test(req.headers.authorization ?? '');
    if (!req.headers['x-api-key'] && !bearer) {
      answer(401, errorBody('authentication_error', 'x-api-key or Authorization: Bearer is required', requestId));
      return;
    }
    if (typeof body !== 'object' || body === null || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
      answer(400, errorBody('invalid_request_error', 'model and messages are required', requestId));
      return;
    }
    if ((body as { stream?: unknown }).stream === true) {
      answer(400, errorBody('invalid_request_error', 'the stub answers non-streaming requests only', requestId));
      return;
    }

    const reply = await current({ index: record.index, body, headers: req.headers, at: record.at });
    if ('error' in reply) {
      const type = reply.error.type ?? errorTypeFor(reply.error.status);
      answer(reply.error.status, errorBody(type, reply.error.message ?? type, requestId), reply.error.headers);
      return;
    }

    const content: Anthropic.ContentBlock[] = [];
    if (reply.text !== undefined) content.push({ type: 'text', text: reply.text, citations: null });
    let stopReason: Anthropic.StopReason = 'end_turn';
    if ('toolUses' in reply) {
      for (const use of reply.toolUses) {
        content.push({ type: 'tool_use', id: use.id ?? fresh('toolu_'), name: use.name, input: use.input ?? {}, caller: { type: 'direct' } });
      }
      stopReason = 'tool_use';
    } else if (reply.stopReason) {
      stopReason = reply.stopReason;
    }

    const message: Anthropic.Message = {
      id: fresh('msg_'),
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: {
        input_tokens: estimateTokens({ system: body.system, messages: body.messages, tools: body.tools }),
        output_tokens: estimateTokens(content),
        cache_creation: null,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        inference_geo: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: 'standard',
        speed: null,
      },
    };
    record.response = message;
    answer(200, message);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const requestId = fresh('req_');
      const last = records.at(-1);
      if (last && last.status === 0) last.status = 500;
      send(res, 500, errorBody('api_error', `stub script failed: ${(error as Error).message}`, requestId), requestId);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...records],
    setScript: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
