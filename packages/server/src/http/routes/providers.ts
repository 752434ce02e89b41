import { Hono } from 'hono';
import type { ServerContext } from '../../context.js';
import { GatehouseError, invalidRequest } from '../../errors.js';
import { createCustomProvider, deleteCustomProvider, getProvider, invalidDefinition, listProviders } from '../../services/providers.js';
import type { AppEnv } from '../env.js';
import { providerToWire } from '../serializers.js';
import { readJsonBody } from '../validation.js';
import { z } from 'zod';

/** Keys whose values are user data: their own keys stay as the caller wrote them. */
const VERBATIM_KEYS = new Set(['authorization_params', 'scope_descriptions', 'metadata']);

/** snake_case wire keys to the camelCase of provider definitions (`token_url` → `tokenUrl`). */
export function camelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelizeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase()),
      VERBATIM_KEYS.has(key) ? inner : camelizeKeys(inner),
    ]),
  );
}

/** camelCase names of provider definitions back to the wire's snake_case (`authMethods.0.tokenUrl` → `auth_methods.0.token_url`). */
function snakeCase(text: string): string {
  return text.replace(/([a-z0-9])([A-Z])/g, (_match, before: string, letter: string) => `${before}_${letter.toLowerCase()}`);
}

/** A validation error of the definition, naming fields as the caller wrote them (snake_case). */
function inWireNames(error: unknown): unknown {
  if (!(error instanceof GatehouseError) || error.code !== 'invalid_request' || !error.details) return error;
  return invalidDefinition(
    error.details.map((detail) => ({
      ...detail,
      path: snakeCase(detail.path),
      // Only the list of unknown keys is made of field names; other messages are prose.
      message: detail.message.startsWith('unknown field') ? snakeCase(detail.message) : detail.message,
    })),
  );
}

/** `/v1/providers`: the catalog plus the project's custom providers. */
export function providerRoutes(context: ServerContext) {
  return new Hono<AppEnv>()
    .get('/', async (c) => {
      const providers = await listProviders(context, c.get('projectId'));
      return c.json({ data: providers.map(providerToWire), next_cursor: null });
    })
    .post('/', async (c) => {
      const body = await readJsonBody(c, z.record(z.string(), z.unknown()));
      if (typeof body.id !== 'string') {
        throw invalidRequest('Invalid request body: id: a provider needs an id such as "acme".', [{ path: 'id', message: 'required' }]);
      }
      const provider = await createCustomProvider(context, c.get('projectId'), camelizeKeys(body)).catch((error: unknown) => {
        throw inWireNames(error);
      });
      return c.json(providerToWire(provider), 201);
    })
    .get('/:providerId', async (c) => {
      return c.json(providerToWire(await getProvider(context, c.get('projectId'), c.req.param('providerId'))));
    })
    .delete('/:providerId', async (c) => {
      await deleteCustomProvider(context, c.get('projectId'), c.req.param('providerId'));
      return c.json({ id: c.req.param('providerId'), deleted: true });
    });
}
