/** What {@link parseToolArguments} gives: the arguments object, or why there is none (for the model). */
export type ParsedToolArguments = { ok: true; args: Record<string, unknown> } | { ok: false; message: string };

/** The longest part of a JSON parser's message kept; the model needs the gist. */
const MAX_PARSE_ERROR_LENGTH = 200;

/**
 * Parses the model's `arguments` string (Chat Completions `function.arguments`, Responses
 * `function_call.arguments`). The model does not always produce valid JSON, so a bad string is an
 * answer for the model, not an exception:
 * - `''`, whitespace or `null` -> `{}` (a tool without arguments);
 * - a JSON object -> that object;
 * - invalid JSON, or JSON that is not an object (an array, a string, a number) -> `ok: false` with a
 *   message naming the tool and what is wrong.
 *
 * Pure.
 *
 * @param toolName - the tool the arguments are for, named in the message
 * @param json - the arguments as the model wrote them
 *
 * @example
 * ```ts
 * const parsed = parseToolArguments(call.function.name, call.function.arguments);
 * if (!parsed.ok) messages.push(errorToolMessage(call.id, parsed.message));
 * ```
 */
export function parseToolArguments(toolName: string, json: unknown): ParsedToolArguments {
  if (json === undefined || json === null) return { ok: true, args: {} };
  if (typeof json !== 'string') return { ok: false, message: `The arguments of tool "${toolName}" must be a JSON object.` };
  if (json.trim().length === 0) return { ok: true, args: {} };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, MAX_PARSE_ERROR_LENGTH);
    return { ok: false, message: `The arguments of tool "${toolName}" are not valid JSON (${reason}). Call it again with a JSON object.` };
  }
  if (value === null) return { ok: true, args: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: `The arguments of tool "${toolName}" must be a JSON object.` };
  }
  return { ok: true, args: value as Record<string, unknown> };
}
