import type { Context } from 'hono';
import { z } from 'zod';
import { GatehouseError, invalidRequest } from '../errors.js';

/** Largest JSON body the API accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

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

/** Turns zod issues into a 400 that names each field. */
export function validationError(error: z.ZodError, what: string): GatehouseError {
  const details = error.issues.map((issue) => ({
    path: issue.path.join('.') || '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  const first = details[0]!;
  return invalidRequest(`Invalid ${what}: ${first.path}: ${first.message}.`, details);
}

/** Parses and validates a JSON body: 415 for another content type, 400 naming the bad field. */
export async function readJsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(contentType)) {
    throw new GatehouseError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
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
