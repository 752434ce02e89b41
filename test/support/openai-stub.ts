/**
 * A local stand-in for the OpenAI API (`POST /v1/chat/completions` and `POST /v1/responses`,
 * non-streaming) on 127.0.0.1 with an ephemeral port, for the real `openai` SDK:
 *
 *   const stub = await startOpenAIStub(callEachToolOnceThenSummarize([/__echo$/]));
 *   const openai = new OpenAI({ apiKey: 'test', baseURL: stub.url, maxRetries: 0 });
 *
 * A script decides each answer from the request (a text, function calls, or an API error); the stub
 * wraps it in a valid `ChatCompletion` or `Response` and records every request, so tests can assert
 * the tools sent and the tool messages / `function_call_output` items that came back. Requests
 * without `Authorization: Bearer …` are answered 401, like the real API.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type OpenAI from 'openai';

export type StubApi = 'chat.completions' | 'responses';

export interface StubRequest {
  /** 0 for the first request the stub got, then 1, 2 ... */
  index: number;
  api: StubApi;
  /** The parsed JSON body as the SDK sent it: `ChatCompletionCreateParams` or `ResponseCreateParams`. */
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

export interface StubFunctionCall {
  name: string;
  /** The arguments string exactly as the model would write it; default `JSON.stringify(input ?? {})`. */
  arguments?: string;
  input?: unknown;
}

export type StubReply =
  | { text: string }
  | { functionCalls: StubFunctionCall[] }
  | { error: { status: number; message?: string } };

export type StubScript = (request: StubRequest) => StubReply | Promise<StubReply>;

export interface StubRecord extends StubRequest {
  /** The HTTP status answered. */
  status: number;
}

export interface OpenAIStub {
  /** `http://127.0.0.1:<port>/v1`: the SDK's `baseURL`. */
  url: string;
  /** Every request received so far (auth failures included), oldest first. */
  requests(): StubRecord[];
  close(): Promise<void>;
}

/** One tool of a request, whichever API: its name and JSON Schema. */
export interface StubTool {
  name: string;
  parameters: Record<string, unknown>;
}

/** The function tools of a request: Chat Completions `{ function: { name } }` or Responses `{ name }`. */
export function toolsOf(request: Pick<StubRequest, 'api' | 'body'>): StubTool[] {
  const tools = Array.isArray(request.body.tools) ? (request.body.tools as Array<Record<string, unknown>>) : [];
  return tools
    .filter((tool) => tool.type === 'function')
    .map((tool) => {
      const definition = (request.api === 'chat.completions' ? tool.function : tool) as { name: string; parameters?: Record<string, unknown> };
      return { name: definition.name, parameters: definition.parameters ?? {} };
    });
}

/** One answer to a function call, whichever API: the call id and the output text. */
export interface StubToolOutput {
  callId: string;
  output: string;
}

/**
 * The tool outputs at the end of a request: the trailing `tool` messages (Chat Completions), or the
 * `function_call_output` items of `input` (Responses). Empty when there are none.
 */
export function toolOutputsOf(request: Pick<StubRequest, 'api' | 'body'>): StubToolOutput[] {
  if (request.api === 'chat.completions') {
    const messages = (request.body.messages ?? []) as OpenAI.ChatCompletionMessageParam[];
    const trailing: StubToolOutput[] = [];
    for (let i = messages.length - 1; i >= 0 && messages[i]?.role === 'tool'; i -= 1) {
      const message = messages[i] as OpenAI.ChatCompletionToolMessageParam;
      const output = typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('');
      trailing.unshift({ callId: message.tool_call_id, output });
    }
    return trailing;
  }
  const input = Array.isArray(request.body.input) ? (request.body.input as Array<Record<string, unknown>>) : [];
  return input
    .filter((item) => item.type === 'function_call_output')
    .map((item) => ({ callId: String(item.call_id), output: typeof item.output === 'string' ? item.output : JSON.stringify(item.output) }));
}

/**
 * First turn: one function call per tool of the request whose name matches any of the patterns, with
 * `input(tool)` as arguments (default `{}`). Next turn (the request carries tool outputs): a text of
 * the outputs, one per line, in the order they came. With no matching tool: the text `no matching tools`.
 */
export function callEachToolOnceThenSummarize(patterns: RegExp[], input: (tool: StubTool) => StubFunctionCall['input'] = () => ({})): StubScript {
  return (request) => {
    const outputs = toolOutputsOf(request);
    if (outputs.length > 0) return { text: outputs.map((output) => output.output).join('\n') };
    const matching = toolsOf(request).filter((tool) => patterns.some((pattern) => pattern.test(tool.name)));
    if (matching.length === 0) return { text: 'no matching tools' };
    return { functionCalls: matching.map((tool) => ({ name: tool.name, input: input(tool) })) };
  };
}

function fresh(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('base64url')}`;
}

function argumentsOf(call: StubFunctionCall): string {
  return call.arguments ?? JSON.stringify(call.input ?? {});
}

function chatCompletion(body: Record<string, unknown>, reply: Exclude<StubReply, { error: unknown }>): OpenAI.ChatCompletion {
  const toolCalls = 'functionCalls' in reply
    ? reply.functionCalls.map((call): OpenAI.ChatCompletionMessageFunctionToolCall => ({
        id: fresh('call_'),
        type: 'function',
        function: { name: call.name, arguments: argumentsOf(call) },
      }))
    : undefined;
  const message: OpenAI.ChatCompletionMessage = { role: 'assistant', content: 'text' in reply ? reply.text : null, refusal: null };
  if (toolCalls) message.tool_calls = toolCalls;
  return {
    id: fresh('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: String(body.model),
    choices: [{ index: 0, finish_reason: toolCalls ? 'tool_calls' : 'stop', logprobs: null, message }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  };
}

function response(body: Record<string, unknown>, reply: Exclude<StubReply, { error: unknown }>): Record<string, unknown> {
  const output: OpenAI.Responses.ResponseOutputItem[] =
    'functionCalls' in reply
      ? reply.functionCalls.map((call) => ({
          type: 'function_call',
          id: fresh('fc_'),
          call_id: fresh('call_'),
          name: call.name,
          arguments: argumentsOf(call),
          status: 'completed',
        }))
      : [{ type: 'message', id: fresh('msg_'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: reply.text, annotations: [] }] }];
  return {
    id: fresh('resp_'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    model: String(body.model),
    output,
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    top_p: null,
    tool_choice: 'auto',
    tools: body.tools ?? [],
    usage: { input_tokens: 10, output_tokens: 10, total_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
  };
}

const PATHS: Record<string, StubApi> = { '/v1/chat/completions': 'chat.completions', '/v1/responses': 'responses' };
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export async function startOpenAIStub(script: StubScript): Promise<OpenAIStub> {
  const records: StubRecord[] = [];

  function send(res: ServerResponse, status: number, body: unknown): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), 'x-request-id': fresh('req_') });
    res.end(payload);
  }
  const apiError = (message: string, type = 'invalid_request_error') => ({ error: { message, type, param: null, code: null } });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const api = PATHS[path];
    if (req.method !== 'POST' || !api) {
      req.resume();
      send(res, 404, apiError(`${req.method} ${path} is not served by the stub`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        send(res, 413, apiError('request body too large'));
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const record: StubRecord = { index: records.length, api, body: {}, headers: req.headers, status: 0 };
    records.push(record);
    const answer = (status: number, body: unknown) => {
      record.status = status;
      send(res, status, body);
    };
    try {
      record.body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      answer(400, apiError('the body is not valid JSON'));
      return;
    }
    if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
      answer(401, apiError('Authorization: Bearer is required', 'authentication_error'));
      return;
    }
    if (record.body.stream === true) {
      answer(400, apiError('the stub answers non-streaming requests only'));
      return;
    }
    const reply = await script({ index: record.index, api, body: record.body, headers: req.headers });
    if ('error' in reply) {
      answer(reply.error.status, apiError(reply.error.message ?? 'scripted error', 'api_error'));
      return;
    }
    answer(200, api === 'chat.completions' ? chatCompletion(record.body, reply) : response(record.body, reply));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else send(res, 500, apiError(`stub script failed: ${(error as Error).message}`, 'api_error'));
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
    url: `http://127.0.0.1:${port}/v1`,
    requests: () => [...records],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
