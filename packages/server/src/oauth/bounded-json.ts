/**
 * Reading a provider's JSON answer with a size cap: a token endpoint is outside our control, and an
 * endless or huge body must not be buffered whole.
 */

/** Token responses are a few hundred bytes; Slack's with a bot and a user token about 1 KB. */
export const TOKEN_RESPONSE_MAX_BYTES = 64 * 1024;

/** The body was larger than allowed; reading stopped there. */
export class ResponseTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`response body exceeds ${maxBytes} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/**
 * Reads `response`'s body as JSON, cancelling the stream once it passes `maxBytes`.
 *
 * @throws ResponseTooLargeError when the body is larger; SyntaxError when it is not JSON
 */
export async function readJsonBounded(response: Response, maxBytes: number): Promise<unknown> {
  if (!response.body) return JSON.parse('');
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return JSON.parse(new TextDecoder().decode(Buffer.concat(chunks)));
}
