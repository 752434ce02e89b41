import { MessageSizeGuard, type JsonRpcIdText } from './message-size-guard.js';

/** What went wrong with the HTTP exchange that carried one tool call. */
export type ExchangeProblem = 'too_large' | 'dropped' | 'unauthorized' | 'forbidden' | 'unreachable' | 'server_error';

/** The `_meta` key that tags a `tools/call` request with Gatehouse's tool call id. */
export const TOOL_CALL_META_KEY = 'gatehouse/tool_call_id';

/**
 * Receives problems of the HTTP exchanges of tagged tool calls (and of untagged ones as `null`). `detail`
 * is what the tool server said (a 403's reason), unredacted: redact before showing it.
 */
export type ExchangeObserver = (toolCallId: string | null, problem: ExchangeProblem, detail?: string) => void;

/** Hooks for the long-lived event stream of the legacy SSE transport, which carries every answer. */
export interface EventStreamWatch {
  /** A `tools/call` went out with this JSON-RPC id (JSON form) for this tool call. */
  onCall(rpcId: JsonRpcIdText, toolCallId: string): void;
  /** An answer over the cap was dropped from the stream; `rpcId` is the request it answered, if found. */
  onOversized(rpcId: JsonRpcIdText | null): void;
  /** The stream ended or broke (the server died, the connection dropped): no answer will come on it. */
  onLost(): void;
}

/** Options of {@link observedFetch}. */
export interface ObservedFetchOptions {
  /** Cap of a POST response, and of each message on an event stream, in bytes. */
  maxResponseBytes: number;
  observe: ExchangeObserver;
  /** Set for the legacy SSE transport: its GET stream is watched message by message. */
  eventStream?: EventStreamWatch;
}

interface TaggedCall {
  toolCallId: string;
  rpcId: JsonRpcIdText | null;
}

function taggedCallOf(body: unknown): TaggedCall | null {
  if (typeof body !== 'string' || !body.includes(TOOL_CALL_META_KEY)) return null;
  try {
    const message = JSON.parse(body) as { id?: unknown; params?: { _meta?: Record<string, unknown> } };
    const id = message.params?._meta?.[TOOL_CALL_META_KEY];
    if (typeof id !== 'string') return null;
    const rpcId = typeof message.id === 'number' || typeof message.id === 'string' ? JSON.stringify(message.id) : null;
    return { toolCallId: id, rpcId };
  } catch {
    return null;
  }
}

const MAX_DETAIL_BYTES = 2048;

/** What a refusing server said: its `WWW-Authenticate` error and the start of its body. */
async function refusalDetail(response: Response): Promise<string> {
  const challenge = response.headers.get('www-authenticate') ?? '';
  const error = /error="([^"]*)"/.exec(challenge)?.[1];
  const description = /error_description="([^"]*)"/.exec(challenge)?.[1];
  let body = '';
  try {
    const reader = response.clone().body?.getReader();
    if (reader) {
      const { value } = await reader.read();
      await reader.cancel().catch(() => {});
      body = Buffer.from(value ?? new Uint8Array()).subarray(0, MAX_DETAIL_BYTES).toString('utf8');
    }
  } catch {
    // No body to quote.
  }
  return [error, description, body.replace(/\s+/g, ' ').trim()].filter(Boolean).join(': ');
}

/**
 * A `fetch` for MCP client transports that watches each exchange: it caps the bytes of a response
 * (so a 50 MB result is cut off while it streams, not after it sits in memory), and reports a cut,
 * a dropped connection, a 401 (and a 403 `invalid_token`), another 403, or a 5xx to `observe`,
 * together with the tool call the request carried. The gateway uses that to give a failed call its
 * precise error. With `eventStream`, the legacy SSE stream is capped per message and its end reported.
 */
export function observedFetch(baseFetch: typeof fetch, options: ObservedFetchOptions): typeof fetch {
  const { maxResponseBytes, observe, eventStream } = options;
  return async (input, init) => {
    const tagged = taggedCallOf(init?.body);
    const toolCallId = tagged?.toolCallId ?? null;
    if (tagged?.rpcId && eventStream) eventStream.onCall(tagged.rpcId, tagged.toolCallId);
    let response: Response;
    try {
      response = await baseFetch(input, init);
    } catch (error) {
      if ((error as Error).name !== 'AbortError') observe(toolCallId, 'unreachable');
      throw error;
    }
    if (response.status === 401) observe(toolCallId, 'unauthorized');
    else if (response.status === 403) {
      // RFC 6750 §3.1: only `invalid_token` means the token itself is bad (and worth a refresh); any other
      // 403 (insufficient_scope, a rate limit, a policy) would be refused again with a new token.
      const invalidToken = /error="?invalid_token/i.test(response.headers.get('www-authenticate') ?? '');
      if (invalidToken) observe(toolCallId, 'unauthorized');
      else observe(toolCallId, 'forbidden', await refusalDetail(response));
    } else if (response.status >= 502 && response.status <= 504) observe(toolCallId, 'unreachable');
    else if (response.status >= 500) observe(toolCallId, 'server_error');
    if (!response.body) return response;
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'POST') return limitBody(response, maxResponseBytes, (problem) => observe(toolCallId, problem));
    if (eventStream && response.ok && (response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      return watchEventStream(response, maxResponseBytes, eventStream);
    }
    return response;
  };
}

/** `response` with a body that errors once it passes `maxBytes`. */
function limitBody(response: Response, maxBytes: number, report: (problem: ExchangeProblem) => void): Response {
  const reader = response.body!.getReader();
  let received = 0;
  // The reader of the response gave up on the body (e.g. the SSE transport's 202): not a fault.
  let cancelledByReader = false;
  const limited = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        received += value.byteLength;
        if (received > maxBytes) {
          report('too_large');
          await reader.cancel().catch(() => {});
          controller.error(new Error(`response larger than ${maxBytes} bytes`));
          return;
        }
        controller.enqueue(value);
      } catch (error) {
        if (!cancelledByReader && (error as Error).name !== 'AbortError') report('dropped');
        controller.error(error);
      }
    },
    cancel(reason) {
      cancelledByReader = true;
      return reader.cancel(reason);
    },
  });
  return new Response(limited, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * The legacy SSE stream, passed on event by event: an event over the cap is dropped (and the call it
 * answered reported); the stream ending or breaking is reported, unless its reader closed it.
 */
function watchEventStream(response: Response, maxEventBytes: number, watch: EventStreamWatch): Response {
  const reader = response.body!.getReader();
  let cancelledByReader = false;
  let lost = false;
  const reportLost = () => {
    if (lost || cancelledByReader) return;
    lost = true;
    watch.onLost();
  };
  const guard = new MessageSizeGuard(maxEventBytes, 'event', {
    onOversized: (rpcId) => watch.onOversized(rpcId),
    onRunaway: () => reportLost(),
  });
  const watched = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            for (const part of guard.flush()) controller.enqueue(part);
            controller.close();
            reportLost();
            return;
          }
          const parts = guard.push(value);
          if (lost) {
            await reader.cancel().catch(() => {});
            controller.error(new Error(`an event of the stream went past ${maxEventBytes} bytes`));
            return;
          }
          if (parts.length === 0) continue;
          for (const part of parts) controller.enqueue(part);
          return;
        }
      } catch (error) {
        controller.error(error);
        // Aborted: the transport closed the stream itself (the pool closed the connection).
        if ((error as Error).name !== 'AbortError') reportLost();
      }
    },
    cancel(reason) {
      cancelledByReader = true;
      return reader.cancel(reason);
    },
  });
  return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers });
}
