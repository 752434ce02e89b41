import type { ProviderSession, RequestOptions, ToolCall } from '@gatehouse/sdk';
import { parseToolArguments } from './openai-arguments.js';

/** How one model tool call ended: Gatehouse's {@link ToolCall}, or why it could not be made (for the model). */
export type RunCallOutcome = { ok: true; toolCall: ToolCall } | { ok: false; message: string };

/** The longest error message put in an output; the model needs the gist, not a stack of causes. */
const MAX_ERROR_MESSAGE_LENGTH = 300;

function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const oneLine = message.replace(/\s+/g, ' ').trim() || 'unknown error';
  return oneLine.length > MAX_ERROR_MESSAGE_LENGTH ? `${oneLine.slice(0, MAX_ERROR_MESSAGE_LENGTH)}…` : oneLine;
}

/**
 * Runs one function call of the model through Gatehouse, never rejecting: an unknown name and bad
 * arguments are answered without a network call, and a request that throws (network, `5xx`, closed
 * session) becomes a message. Shared by the Chat Completions and Responses shapes, which differ only in
 * how the outcome is wrapped. Never retried (a tool may not be idempotent).
 */
export async function runCall(
  providerSession: ProviderSession,
  knownTools: ReadonlySet<string>,
  name: string,
  argumentsJson: unknown,
  options: RequestOptions | undefined,
): Promise<RunCallOutcome> {
  if (!knownTools.has(name)) {
    return { ok: false, message: `Tool "${name}" is not available in this session; use only the tools you were given.` };
  }
  const parsed = parseToolArguments(name, argumentsJson);
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, toolCall: await providerSession.callTool(name, parsed.args, options) };
  } catch (error) {
    return { ok: false, message: `Gatehouse could not run tool "${name}": ${shortMessage(error)} The action may or may not have happened.` };
  }
}
