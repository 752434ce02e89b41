import type { Context } from 'hono';
import { z } from 'zod';
import { GatehouseError, invalidRequest, type ErrorDetail } from '../errors.js';

/** Largest JSON body the API accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Largest form post the hosted pages accept (an API key and a CSRF token). */
export const MAX_FORM_BODY_BYTES = 64 * 1024;

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of `[`/`{` in a JSON text, counted without parsing (strings skipped), so that
 * a 10 000-deep body is refused before any recursive code (parser, validator, key conversion) walks it.
 * Stops counting once `limit` is passed.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      if (++depth > limit) return true;
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    }
  }
  return false;
}

class NulCharacterError extends Error {}

/** User-supplied key/value labels on objects: bounded so they cannot be used to store blobs. */
export const metadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 keys');

/** Id-shaped strings in paths and bodies. */
export const idSchema = z.string().min(1).max(128);

/** `limit` and `cursor` query parameters. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** One detail per zod issue: the field's path (`(body)` for the whole) and what is wrong with it. */
export function issueDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.join('.') || '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
}

/** Turns zod issues into a 400 that names each field. */
export function validationError(error: z.ZodError, what: string): GatehouseError {
  const details = issueDetails(error);
  const first = details[0]!;
  return invalidRequest(`Invalid ${what}: ${first.path}: ${first.message}.`, details);
}

/** Parses and validates a JSON body: 415 for another content type, 400 naming the bad field. */
export async function readJsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(contentType)) {
    throw new GatehouseError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
  }
  const text = await c.req.text();
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw invalidRequest(`The body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels.`, [
      { path: '(body)', message: `nested deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  }
  let body: unknown;
  try {
    body = JSON.parse(text, (key, value: unknown) => {
      // PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the database.
      if (key.includes('\u0000') || (typeof value === 'string' && value.includes('\u0000'))) throw new NulCharacterError();
      return value;
    });
  } catch (error) {
    if (error instanceof NulCharacterError) throw invalidRequest('The body contains a NUL character (\\u0000), which no Gatehouse field can hold.');
    throw invalidRequest('The body is not valid JSON.');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error, 'request body');
  return parsed.data;
}

/** Validates the query string. */
export function readQuery<T>(c: Context, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw validationError(parsed.error, 'query');
  return parsed.data;
}
