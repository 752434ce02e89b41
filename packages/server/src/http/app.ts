import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ServerContext } from '../context.js';
import { GatehouseError, invalidRequest } from '../errors.js';
import { newId } from '../ids.js';
import { hostedErrorPage, isHostedPagePath, pageRoutes } from '../pages/routes.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../store/database-errors.js';
import { pingDatabase } from '../store/database.js';
import { apiKeyAuth } from './api-key-auth.js';
import { authFailureLimit } from './auth-failure-limit.js';
import type { AppEnv } from './env.js';
import { authConfigRoutes } from './routes/auth-configs.js';
import { deploymentRoutes } from './routes/deployments.js';
import { providerRoutes } from './routes/providers.js';
import { setupSessionRoutes } from './routes/setup-sessions.js';
import { sessionRoutes } from './routes/sessions.js';
import { webhookRoutes } from './routes/webhooks.js';
import { sessionMcpRoutes } from '../gateway/session-mcp-endpoint.js';
import { MAX_BODY_BYTES, MAX_FORM_BODY_BYTES } from './validation.js';

/** Refuses a body over `maxSize` bytes with 413, whether it says its length up front or streams. */
function limitBody(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new GatehouseError('payload_too_large', `The body is larger than ${maxSize / 1024} KiB.`);
    },
  });
}

/**
 * The whole HTTP surface: the `/v1` API, the hosted setup pages and the OAuth callback. Built from a
 * {@link ServerContext}; no module state, so tests run several apps in one process.
 */
export function createApp(context: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const requestId = newId('request');
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    c.header('x-request-id', requestId);
    // The path only: query strings of callbacks carry codes and state.
    context.logger.info(
      { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  });

  // PostgreSQL text cannot hold U+0000: refuse it in the URL once, here, rather than as a database
  // error (a 500) in whichever query it would reach.
  app.use(async (c, next) => {
    if (c.req.url.includes('%00')) {
      throw invalidRequest('The URL contains a NUL character (%00), which no Gatehouse id or parameter can hold.');
    }
    await next();
  });

  app.get('/healthz', async (c) => {
    await pingDatabase(context.db);
    return c.json({ status: 'ok' });
  });

  const api = new Hono<AppEnv>();
  // A client over its budget of invalid keys is refused before its body is even read.
  api.use(authFailureLimit(context));
  api.use(limitBody(MAX_BODY_BYTES));
  api.use(apiKeyAuth(context));
  // Sub-resources before `/providers/:providerId`, which would otherwise swallow them.
  api.route('/providers/deployments', deploymentRoutes(context));
  api.route('/providers/setup-sessions', setupSessionRoutes(context));
  api.route('/providers/auth-configs', authConfigRoutes(context));
  api.route('/providers', providerRoutes(context));
  api.route('/sessions', sessionRoutes(context));
  api.route('/webhooks', webhookRoutes(context));
  app.route('/v1', api);

  app.use('/mcp/*', authFailureLimit(context), limitBody(MAX_BODY_BYTES));
  app.route('/', sessionMcpRoutes(context));

  // Hosted pages take small form posts only.
  app.use('/setup/*', limitBody(MAX_FORM_BODY_BYTES));

  app.route('/', pageRoutes(context));

  app.notFound((c) => {
    return c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}.`, request_id: c.get('requestId') } }, 404);
  });

  app.onError((thrown, c) => {
    const requestId = c.get('requestId');
    c.header('x-request-id', requestId);
    let error: GatehouseError;
    if (thrown instanceof GatehouseError) {
      error = thrown;
    } else if (isDatabaseUnavailable(thrown)) {
      // An outage, not a bug: no stack, and a client that waits a moment will succeed.
      context.logger.warn({ requestId, method: c.req.method, path: c.req.path, err: { message: thrown.message } }, 'database unavailable');
      error = new GatehouseError('service_unavailable', `Gatehouse cannot reach its database right now. Retry after ${DATABASE_RETRY_AFTER_SECONDS} s.`, undefined, {
        'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
      });
      if (isHostedPagePath(c.req.path)) {
        c.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
        return hostedErrorPage(c, 503);
      }
    } else {
      context.logger.error({ requestId, err: { name: thrown.name, message: thrown.message, stack: thrown.stack } }, 'unhandled error');
      if (isHostedPagePath(c.req.path)) return hostedErrorPage(c, 500);
      error = new GatehouseError('internal_error', thrown.message);
    }
    for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
    return c.json(
      {
        error: {
          code: error.code,
          message: error.expose ? error.message : 'Gatehouse hit an internal error; the request id helps the operator find it in the logs.',
          request_id: requestId,
          ...(error.details ? { details: error.details } : {}),
        },
      },
      error.status as 400,
    );
  });

  return app;
}
