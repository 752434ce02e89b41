import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ServerContext } from '../context.js';
import { randomToken } from '../ids.js';
import type { AppEnv } from '../http/env.js';
import { requestedScopes } from '../oauth/authorization-server.js';
import { handleOAuthCallback, type CallbackOutcome } from '../oauth/handle-callback.js';
import { sha256, startAuthorization } from '../oauth/start-authorization.js';
import { completeSetupSession, getSetupSessionForPage, resolveSessionMethod, type SetupSessionRow } from '../services/setup-sessions.js';
import {
  apiKeyFormPage,
  completedPage,
  errorPage,
  expiredPage,
  failedPage,
  HOSTED_PAGES_CSP,
  oauthStartPage,
  STYLESHEET_PATH,
  gatehouseStylesheet,
} from './views/setup-pages.js';

const MAX_API_KEY_LENGTH = 4096;
const OAUTH_COOKIE_PREFIX = 'gatehouse_oauth_';
const CSRF_COOKIE_PREFIX = 'gatehouse_csrf_';

/** A hosted page with the headers every one of them carries (CSP, no framing, no caching, no referrer). */
function hostedPage(c: Context<AppEnv>, body: string, status = 200, csp = HOSTED_PAGES_CSP) {
  c.header('content-security-policy', csp);
  c.header('x-frame-options', 'DENY');
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-store');
  return c.html(body, status as 200);
}

/** Whether a request is for a hosted page (a browser, not an API client, is asking). */
export function isHostedPagePath(path: string): boolean {
  return path.startsWith('/setup/') || path.startsWith('/oauth/');
}

/**
 * The page an end user sees when a hosted page failed on the server's side: an outage (`503`: try
 * again in a moment) or an internal error (`500`). Says nothing about the cause.
 */
export function hostedErrorPage(c: Context<AppEnv>, status: 500 | 503) {
  const body =
    status === 503
      ? errorPage({
          status,
          title: 'Gatehouse is briefly unavailable',
          message: 'Wait a few seconds and reload this page. If that does not work, return to the app and start again.',
        })
      : errorPage({
          status,
          title: 'Something went wrong',
          message: `Gatehouse hit an internal error. Return to the app and start again; if it keeps happening, tell the app's team (reference ${c.get('requestId')}).`,
        });
  return hostedPage(c, body, status);
}

/**
 * The hosted pages an end user sees, and the OAuth redirect URI. No API key here: the setup session
 * id in the URL is the capability, and the OAuth attempt is bound to the browser by a cookie.
 */
export function pageRoutes(context: ServerContext) {
  const secureCookies = context.publicUrl.startsWith('https://');
  const page = hostedPage;

  const invalidLinkPage = (c: Context<AppEnv>) =>
    page(
      c,
      errorPage({
        status: 400,
        title: 'This link can’t be used',
        message: 'The sign-in link is invalid, was already used, or was opened in another browser. Return to the app and start again.',
      }),
      400,
    );

  /** Shows a finished session: its final page, or back to the app when it gave a redirect URL. */
  const finished = (c: Context<AppEnv>, session: SetupSessionRow, providerName: string) => {
    if (session.status === 'expired') return page(c, expiredPage({ providerName }), 410);
    if (session.status === 'failed') {
      return page(c, failedPage({ providerName, reason: session.errorCode ?? 'failed', detail: session.errorMessage ?? undefined, redirectUrl: resultUrl(session) }));
    }
    return page(c, completedPage({ providerName, redirectUrl: resultUrl(session) }));
  };

  return new Hono<AppEnv>()
    .get(STYLESHEET_PATH, (c) => {
      c.header('cache-control', 'public, max-age=3600');
      c.header('x-content-type-options', 'nosniff');
      return c.body(gatehouseStylesheet, 200, { 'content-type': 'text/css; charset=utf-8' });
    })

    .get('/setup/:setupSessionId', async (c) => {
      const session = await getSetupSessionForPage(context, c.req.param('setupSessionId'));
      if (!session) return page(c, errorPage({ status: 404, title: 'Link not found', message: 'This setup link does not exist. Return to the app and start again.' }), 404);
      const { definition, method } = await resolveSessionMethod(context, session);
      if (session.status !== 'pending') return finished(c, session, definition.name);

      if (method.type === 'oauth2') {
        const scopes = (await requestedScopes(context, method, definition.mcpServer)).map((name) => ({ name, description: method.scopeDescriptions?.[name] }));
        return page(
          c,
          oauthStartPage({
            providerName: definition.name,
            providerDescription: definition.description,
            scopes,
            authorizeUrl: `/setup/${session.id}/authorize`,
            expiresAt: session.expiresAt,
            now: context.clock.now(),
          }),
        );
      }
      const csrfToken = randomToken(24);
      setCookie(c, `${CSRF_COOKIE_PREFIX}${session.id}`, csrfToken, cookieOptions(`/setup/${session.id}`, session, context, secureCookies));
      return page(
        c,
        apiKeyFormPage({
          providerName: definition.name,
          label: method.label,
          description: method.description,
          placeholder: method.placeholder,
          docsUrl: method.docsUrl,
          formAction: `/setup/${session.id}/api-key`,
          csrfToken,
          expiresAt: session.expiresAt,
          now: context.clock.now(),
        }),
        200,
        formPageCsp(session),
      );
    })

    .get('/setup/:setupSessionId/authorize', async (c) => {
      const session = await getSetupSessionForPage(context, c.req.param('setupSessionId'));
      if (!session) return invalidLinkPage(c);
      const { definition, method } = await resolveSessionMethod(context, session);
      if (session.status !== 'pending') return finished(c, session, definition.name);
      if (method.type !== 'oauth2') return c.redirect(`/setup/${session.id}`, 303);
      let redirect: Awaited<ReturnType<typeof startAuthorization>>;
      try {
        redirect = await startAuthorization(context, session, method, definition.mcpServer);
      } catch (error) {
        // Discovery failed or was refused by the outbound guard: say so, without the details.
        context.logger.warn({ setupSessionId: session.id, err: (error as Error).message }, 'could not start the authorization');
        return page(
          c,
          errorPage({
            status: 502,
            title: `${definition.name} can’t be reached`,
            message: 'Gatehouse could not reach the provider to start signing in. Try again in a moment, or return to the app.',
          }),
          502,
        );
      }
      if (!redirect) return invalidLinkPage(c);
      setCookie(c, `${OAUTH_COOKIE_PREFIX}${session.id}`, redirect.browserBinding, cookieOptions('/oauth/callback', session, context, secureCookies));
      c.header('cache-control', 'no-store');
      c.header('referrer-policy', 'no-referrer');
      return c.redirect(redirect.authorizationUrl, 302);
    })

    .post('/setup/:setupSessionId/api-key', async (c) => {
      const session = await getSetupSessionForPage(context, c.req.param('setupSessionId'));
      if (!session) return invalidLinkPage(c);
      const { definition, method } = await resolveSessionMethod(context, session);
      if (session.status !== 'pending') return finished(c, session, definition.name);
      if (method.type !== 'api_key') return invalidLinkPage(c);

      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const csrfCookie = getCookie(c, `${CSRF_COOKIE_PREFIX}${session.id}`);
      if (!csrfCookie || typeof form.csrf_token !== 'string' || !digestsEqual(form.csrf_token, csrfCookie)) {
        return invalidLinkPage(c);
      }
      const apiKey = typeof form.api_key === 'string' ? form.api_key.trim() : '';
      if (apiKey.length === 0 || apiKey.length > MAX_API_KEY_LENGTH || /\s/.test(apiKey)) {
        return page(
          c,
          apiKeyFormPage({
            providerName: definition.name,
            label: method.label,
            description: method.description,
            placeholder: method.placeholder,
            docsUrl: method.docsUrl,
            formAction: `/setup/${session.id}/api-key`,
            csrfToken: csrfCookie,
            error: apiKey.length === 0 ? `Paste your ${method.label} to continue.` : `That doesn’t look like a ${method.label}: it must be one line without spaces.`,
            expiresAt: session.expiresAt,
            now: context.clock.now(),
          }),
          400,
          formPageCsp(session),
        );
      }
      const view = await completeSetupSession(context, session, { credentials: { type: 'api_key', apiKey }, scopes: [] }).catch(() => undefined);
      deleteCookie(c, `${CSRF_COOKIE_PREFIX}${session.id}`, { path: `/setup/${session.id}` });
      if (!view) return invalidLinkPage(c);
      if (view.session.redirectUrl) return c.redirect(resultUrl(view.session)!, 303);
      return page(c, completedPage({ providerName: definition.name }));
    })

    .get('/oauth/callback/:deploymentId', async (c) => {
      const outcome = await handleOAuthCallback(context, c.req.param('deploymentId'), new URL(c.req.url), (setupSessionId) =>
        getCookie(c, `${OAUTH_COOKIE_PREFIX}${setupSessionId}`),
      );
      return renderCallbackOutcome(c, outcome);
    });

  function renderCallbackOutcome(c: Context<AppEnv>, outcome: CallbackOutcome) {
    if (outcome.kind === 'invalid') return invalidLinkPage(c);
    const session = outcome.kind === 'completed' ? outcome.view.session : outcome.session;
    deleteCookie(c, `${OAUTH_COOKIE_PREFIX}${session.id}`, { path: '/oauth/callback' });
    if (outcome.kind !== 'expired' && session.redirectUrl) return c.redirect(resultUrl(session)!, 302);
    if (outcome.kind === 'failed') {
      return page(c, failedPage({ providerName: outcome.providerName, reason: outcome.code, detail: outcome.message }));
    }
    return finished(c, session, outcome.providerName);
  }
}

/** The app's redirect URL with the outcome appended (`setup_session_id`, `status`, `error`). */
function resultUrl(session: SetupSessionRow): string | undefined {
  if (!session.redirectUrl) return undefined;
  const url = new URL(session.redirectUrl);
  url.searchParams.set('setup_session_id', session.id);
  url.searchParams.set('status', session.status);
  if (session.errorCode) url.searchParams.set('error', session.errorCode);
  return url.href;
}

/** The form page may be redirected to the app after the post, so its CSP allows that origin too. */
function formPageCsp(session: SetupSessionRow): string {
  if (!session.redirectUrl) return HOSTED_PAGES_CSP;
  return HOSTED_PAGES_CSP.replace("form-action 'self'", `form-action 'self' ${new URL(session.redirectUrl).origin}`);
}

/** Compares two secrets in constant time, over their equal-length SHA-256 digests. */
function digestsEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(sha256(a), 'hex'), Buffer.from(sha256(b), 'hex'));
}

function cookieOptions(path: string, session: SetupSessionRow, context: ServerContext, secure: boolean) {
  const maxAge = Math.max(1, Math.ceil((session.expiresAt.getTime() - context.clock.now().getTime()) / 1000));
  return { path, httpOnly: true, secure, sameSite: 'Lax' as const, maxAge };
}
