/** What went wrong with the HTTP exchange that carried one tool call. */
export type ExchangeProblem = 'too_large' | 'dropped' | 'unauthorized' | 'unreachable' | 'server_error';

/** The `_meta` key that tags a `tools/call` request with Gatehouse's tool call id. */
export const TOOL_CALL_META_KEY = 'gatehouse/tool_call_id';

/** Receives problems of the HTTP exchanges of tagged tool calls (and of untagged ones as `null`). */
export type ExchangeObserver = (toolCallId: string | null, problem: ExchangeProblem) => void;

function toolCallIdOf(body: unknown): string | null {
  if (typeof body !== 'string' || !body.includes(TOOL_CALL_META_KEY)) return null;
  try {
    const message = JSON.parse(body) as { params?: { _meta?: Record<string, unknown> } };
    const id = message.params?._meta?.[TOOL_CALL_META_KEY];
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/**
 * A `fetch` for MCP client transports that watches each exchange: it caps the bytes of a response
 * (so a 50 MB result is cut off while it streams, not after it sits in memory), and reports a cut,
 * a dropped connection, a 401/403 or a 5xx to `observe` together with the tool call the request
 * carried. The gateway uses that to give a failed call its precise error.
 */
export function observedFetch(baseFetch: typeof fetch, maxResponseBytes: number, observe: ExchangeObserver): typeof fetch {
  return async (input, init) => {
    const toolCallId = toolCallIdOf(init?.body);
    let response: Response;
    try {
      response = await baseFetch(input, init);
    } catch (error) {
      if ((error as Error).name !== 'AbortError') observe(toolCallId, 'unreachable');
      throw error;
    }
    if (response.status === 401 || response.status === 403) observe(toolCallId, 'unauthorized');
    else if (response.status >= 502 && response.status <= 504) observe(toolCallId, 'unreachable');
    else if (response.status >= 500) observe(toolCallId, 'server_error');
    if (!response.body || (init?.method ?? 'GET').toUpperCase() !== 'POST') return response;

    const reader = response.body.getReader();
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
          if (received > maxResponseBytes) {
            observe(toolCallId, 'too_large');
            await reader.cancel().catch(() => {});
            controller.error(new Error(`response larger than ${maxResponseBytes} bytes`));
            return;
          }
          controller.enqueue(value);
        } catch (error) {
          if (!cancelledByReader && (error as Error).name !== 'AbortError') observe(toolCallId, 'dropped');
          controller.error(error);
        }
      },
      cancel(reason) {
        cancelledByReader = true;
        return reader.cancel(reason);
      },
    });
    return new Response(limited, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
