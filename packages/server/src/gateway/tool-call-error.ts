/** Why a tool call did not produce the tool's own result; the codes are part of the API. */
export type ToolCallErrorCode =
  | 'unknown_tool'
  | 'tool_server_unavailable'
  | 'tool_timeout'
  | 'cancelled'
  | 'tool_forbidden'
  | 'tool_result_too_large'
  | 'reauthorization_required'
  | 'token_refresh_failed'
  | 'tool_server_error';

/**
 * A tool call that failed on Gatehouse's side of the tool. It becomes a tool result marked as an
 * error (never an HTTP error), so the agent loop goes on. Messages never carry credentials.
 */
export class ToolCallError extends Error {
  constructor(
    readonly code: ToolCallErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ToolCallError';
  }
}
