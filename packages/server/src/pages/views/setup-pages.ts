/**
 * Views of the hosted setup pages: the pages an app's end user sees while authorizing access to
 * their account at a provider (by OAuth or by pasting an API key), and the pages that end the flow.
 *
 * Every function is pure: it takes plain values and returns a complete HTML document as a string.
 * All provider- and user-supplied text is escaped; URLs that end up in `href`/`action` must be
 * `http(s):` or a same-origin path (see {@link safeUrl}). The markup has no script, no `<style>`
 * and no `style` attribute, so it renders under the strict CSP in {@link HOSTED_PAGES_CSP} with
 * {@link gatehouseStylesheet} served at {@link STYLESHEET_PATH}.
 *
 * @module
 */
import { escapeHtml, html, icon, raw, renderPage, safeUrl, type SafeHtml } from './layout.js';

export { HOSTED_PAGES_CSP, STYLESHEET_PATH, gatehouseStylesheet } from './layout.js';

/** A permission the provider will ask the user to grant. */
export interface ScopeView {
  /** The scope as the provider names it (`channels:read`, `repo`). */
  name: string;
  /** What it allows, in words, when known. */
  description?: string;
}

/** Options of {@link oauthStartPage}. */
export interface OAuthStartPageOptions {
  /** Display name of the provider ("Slack"). */
  providerName: string;
  /** A short description of the provider. */
  providerDescription?: string;
  /** The scopes that will be requested. May be empty. */
  scopes: readonly ScopeView[];
  /**
   * Where "Continue to <Provider>" goes: typically `/setup/:id/authorize`, which sets the
   * browser-binding cookie and redirects to the provider. Must be `http(s):` or a same-origin path.
   */
  authorizeUrl: string;
  /** When the setup session expires. */
  expiresAt: Date;
  /** The current time (injected so the page is deterministic). */
  now: Date;
  /** Name of the application the user is connecting for, when known. */
  appName?: string;
}

/** Options of {@link apiKeyFormPage}. */
export interface ApiKeyFormPageOptions {
  /** Display name of the provider ("Exa"). */
  providerName: string;
  /** Label of the field ("API key"). */
  label: string;
  /** Help shown under the field (where the key comes from, what access it needs). */
  description?: string;
  /** Placeholder of the field, e.g. the key's prefix ("exa_..."). */
  placeholder?: string;
  /** Where the user can create or find a key. Shown only if `http(s):`. */
  docsUrl?: string;
  /** Where the form posts (`/setup/:id/api-key`). Must be `http(s):` or a same-origin path. */
  formAction: string;
  /** The anti-CSRF token, sent back as the hidden field `csrf_token`. */
  csrfToken: string;
  /** A validation error from the previous attempt, shown above the field. */
  error?: string;
  /** When the setup session expires. */
  expiresAt: Date;
  /** The current time (injected so the page is deterministic). */
  now: Date;
  /** Name of the application the user is connecting for, when known. */
  appName?: string;
}

/** Options of {@link completedPage}. */
export interface CompletedPageOptions {
  /** Display name of the provider. */
  providerName: string;
  /** Where "Return to the app" goes. Without it (or if it is not `http(s):`), the page says the window can be closed. */
  redirectUrl?: string;
  /** Name of the application the user is connecting for, when known. */
  appName?: string;
}

/** Options of {@link failedPage}. */
export interface FailedPageOptions {
  /** Display name of the provider. */
  providerName: string;
  /** Why it failed: the provider's `error` (`access_denied`) or a short sentence. Shown escaped. */
  reason: string;
  /** More detail, e.g. the provider's `error_description`. Shown escaped. */
  detail?: string;
  /** Where "Return to the app" goes, when known (validated against the project's allow-list by the caller). */
  redirectUrl?: string;
  /** Name of the application the user is connecting for, when known. */
  appName?: string;
}

/** Options of {@link expiredPage}. */
export interface ExpiredPageOptions {
  /** Display name of the provider, when the setup session is known. */
  providerName?: string;
  /** Name of the application the user is connecting for, when known. */
  appName?: string;
}

/** Options of {@link errorPage}. */
export interface ErrorPageOptions {
  /** Heading and document title ("Something went wrong"). */
  title: string;
  /** A generic explanation. Do not put secrets or the precise reason of a security check here. */
  message: string;
  /** The HTTP status the page is served with (shown as "Error 400"). */
  status: number;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const AVATAR_HUES = 8;
const SCOPES_SHOWN_BEFORE_FOLD = 5;

/** The letter shown in a provider's badge: its first letter or digit, upper-cased; "?" if none. */
export function providerInitial(name: string): string {
  for (const ch of name.trim()) {
    if (/[\p{L}\p{N}]/u.test(ch)) return Array.from(ch.toLocaleUpperCase('en-US'))[0] ?? ch;
  }
  return '?';
}

/** A stable palette index in `[0, 8)` for a provider name (FNV-1a), so each provider keeps its colour. */
export function providerHue(name: string): number {
  let hash = 0x811c9dc5;
  for (const ch of name.trim().toLowerCase()) {
    hash ^= ch.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % AVATAR_HUES;
}

/**
 * Human wording for the time left until `expiresAt`, or `undefined` when it has passed:
 * "less than a minute", "14 minutes", "1 hour 30 minutes", "3 days". Rounds down, never promising
 * more time than there is.
 */
export function formatTimeLeft(expiresAt: Date, now: Date): string | undefined {
  const ms = expiresAt.getTime() - now.getTime();
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return rest === 0 ? plural(hours, 'hour') : `${plural(hours, 'hour')} ${plural(rest, 'minute')}`;
  }
  return plural(Math.floor(hours / 24), 'day');
}

type Status = 'success' | 'danger' | 'warning' | 'neutral';

const STATUS_ICON = { success: 'check', danger: 'x', warning: 'clock', neutral: 'alert' } as const;

function avatar(providerName: string | undefined, status?: Status): SafeHtml {
  // Decorative: the heading says who and what.
  if (providerName === undefined || providerName.trim() === '') {
    const tone = status === 'warning' ? 'warning' : 'neutral';
    return html`<div class="gh-avatar gh-avatar--${tone}" aria-hidden="true">${icon(STATUS_ICON[status ?? 'neutral'])}</div>`;
  }
  const badge = status
    ? html`<span class="gh-avatar-status gh-avatar-status--${status}">${icon(STATUS_ICON[status])}</span>`
    : undefined;
  return html`<div class="gh-avatar gh-avatar--${providerHue(providerName)}" aria-hidden="true">${providerInitial(providerName)}${badge}</div>`;
}

function reassurance(appName: string | undefined): string {
  const app = appName?.trim() ? appName.trim() : 'the app you came from';
  return `Gatehouse stores this credential encrypted; ${app} never sees it.`;
}

function expiryNote(expiresAt: Date, now: Date): SafeHtml {
  const left = formatTimeLeft(expiresAt, now);
  const iso = Number.isFinite(expiresAt.getTime()) ? expiresAt.toISOString() : undefined;
  const text = left
    ? html`This link expires in <time datetime="${iso}">${left}</time>.`
    : html`This link has expired.`;
  return html`<p class="gh-meta">${icon('clock')}<span>${text}</span></p>`;
}

function requireUrl(url: string, what: string): string {
  const safe = safeUrl(url);
  if (safe === undefined) {
    throw new TypeError(`${what} must be an http(s) URL or a same-origin path`);
  }
  return safe;
}

/** Escapes `text` and lets long URL-like scope names (Google's) wrap after each "/". */
function breakable(text: string): SafeHtml {
  return raw(escapeHtml(text).replace(/\//g, '/<wbr>'));
}

function scopeItem(scope: ScopeView): SafeHtml {
  const description = scope.description?.trim();
  const name = breakable(scope.name);
  const text = description
    ? html`<span class="gh-scope-description">${description}</span><code class="gh-scope-name">${name}</code>`
    : html`<code class="gh-scope-name gh-scope-name--primary">${name}</code>`;
  return html`<li class="gh-scope"><span class="gh-scope-check">${icon('check')}</span><span class="gh-scope-text">${text}</span></li>`;
}

function scopeList(providerName: string, scopes: readonly ScopeView[]): SafeHtml {
  if (scopes.length === 0) {
    return html`<div class="gh-scope-box"><ul class="gh-scopes"><li class="gh-scope"><span class="gh-scope-check">${icon('check')}</span><span class="gh-scope-text"><span class="gh-scope-description">Basic access to your ${providerName} account</span></span></li></ul></div>`;
  }
  const fold = scopes.length > SCOPES_SHOWN_BEFORE_FOLD + 1;
  const shown = fold ? scopes.slice(0, SCOPES_SHOWN_BEFORE_FOLD) : scopes;
  const rest = fold ? scopes.slice(SCOPES_SHOWN_BEFORE_FOLD) : [];
  const more = fold
    ? html`<details class="gh-more"><summary><span class="gh-more-more">Show ${rest.length} more</span><span class="gh-more-less">Show fewer</span>${icon('arrowRight')}</summary><ul class="gh-scopes">${rest.map(scopeItem)}</ul></details>`
    : undefined;
  return html`<div class="gh-scope-box"><ul class="gh-scopes">${shown.map(scopeItem)}</ul>${more}</div>`;
}

function appOr(appName: string | undefined, fallback: string): string {
  return appName?.trim() ? appName.trim() : fallback;
}

// ---------------------------------------------------------------------------------------------
// Pages

/**
 * The first page of an OAuth setup: names the provider and the permissions it will ask for, and
 * links ("Continue to <Provider>", a plain `<a>`) to `authorizeUrl`. Says how long the link stays valid.
 *
 * @throws TypeError if `authorizeUrl` is neither `http(s):` nor a same-origin path.
 */
export function oauthStartPage(options: OAuthStartPageOptions): string {
  const { providerName, providerDescription, scopes, expiresAt, now, appName } = options;
  const authorizeUrl = requireUrl(options.authorizeUrl, 'authorizeUrl');
  const description = providerDescription?.trim();
  const body = html`<header class="gh-header">
${avatar(providerName)}
<h1 class="gh-title">Connect your ${providerName} account</h1>
<p class="gh-lead">${appOr(appName, 'An app')} is requesting access to your ${providerName} account. You’ll sign in to ${providerName} to approve it.</p>
${description ? html`<p class="gh-provider-description">${description}</p>` : undefined}
</header>
<section class="gh-section" aria-labelledby="gh-scopes-title">
<h2 class="gh-section-title" id="gh-scopes-title">${providerName} will ask you to allow</h2>
${scopeList(providerName, scopes)}
</section>
<div class="gh-actions">
<a class="gh-button gh-button--primary" href="${authorizeUrl}">Continue to ${providerName}${icon('arrowRight')}</a>
${expiryNote(expiresAt, now)}
</div>`;
  return renderPage({ title: `Connect ${providerName}`, body, reassurance: reassurance(appName) });
}

/**
 * The API-key setup page: a form posting (`method="post"`) to `formAction` with a password-type
 * field `api_key` and the hidden `csrf_token`; a "Save key" button; `error` (from a previous
 * attempt) above the field; a link to `docsUrl` when given.
 *
 * @throws TypeError if `formAction` is neither `http(s):` nor a same-origin path.
 */
export function apiKeyFormPage(options: ApiKeyFormPageOptions): string {
  const { providerName, label, placeholder, csrfToken, expiresAt, now, appName } = options;
  const formAction = requireUrl(options.formAction, 'formAction');
  const docsUrl = safeUrl(options.docsUrl);
  const description = options.description?.trim();
  const error = options.error?.trim();
  const fieldLabel = label.trim() || 'API key';

  const describedBy = [error ? 'gh-api-key-error' : '', description ? 'gh-api-key-hint' : '']
    .filter(Boolean)
    .join(' ');
  const errorBox = error
    ? html`<div class="gh-callout gh-callout--danger" id="gh-api-key-error" role="alert">${icon('alert')}<div class="gh-callout-text">${error}</div></div>`
    : undefined;
  const docsLink = docsUrl
    ? html`<p class="gh-hint"><a class="gh-link" href="${docsUrl}" target="_blank" rel="noopener noreferrer">Where do I find my ${fieldLabel}?${icon('external')}<span class="gh-visually-hidden"> (opens in a new tab)</span></a></p>`
    : undefined;

  const body = html`<header class="gh-header">
${avatar(providerName)}
<h1 class="gh-title">Connect your ${providerName} account</h1>
<p class="gh-lead">Paste your ${providerName} ${fieldLabel} to give ${appOr(appName, 'the app')} access to your account.</p>
</header>
<form class="gh-form" method="post" action="${formAction}" autocomplete="off">
<input type="hidden" name="csrf_token" value="${csrfToken}">
${errorBox}
<div class="gh-field">
<label class="gh-label" for="gh-api-key">${fieldLabel}</label>
<input class="gh-input" id="gh-api-key" name="api_key" type="password" autocomplete="off" autocapitalize="off" spellcheck="false" required${placeholder ? html` placeholder="${placeholder}"` : undefined}${describedBy ? html` aria-describedby="${describedBy}"` : undefined}${error ? html` aria-invalid="true" autofocus` : undefined}>
${description ? html`<p class="gh-hint" id="gh-api-key-hint">${description}</p>` : undefined}
${docsLink}
</div>
<div class="gh-actions">
<button class="gh-button gh-button--primary" type="submit">Save key</button>
${expiryNote(expiresAt, now)}
</div>
</form>`;
  return renderPage({ title: `Connect ${providerName}`, body, reassurance: reassurance(appName) });
}

/**
 * The page shown once the credential is stored: "You're connected to <Provider>". With a valid
 * `redirectUrl`, a "Return to the app" link (plain `<a>`, no script); otherwise "You can close this window".
 */
export function completedPage(options: CompletedPageOptions): string {
  const { providerName, appName } = options;
  const redirectUrl = safeUrl(options.redirectUrl);
  const app = appOr(appName, 'the app');
  const next = redirectUrl
    ? html`<p class="gh-lead">Your ${providerName} account is ready to use. You can now return to ${app}.</p>`
    : html`<p class="gh-lead">Your ${providerName} account is ready to use. You can close this window.</p>`;
  const action = redirectUrl
    ? html`<div class="gh-actions"><a class="gh-button gh-button--primary" href="${redirectUrl}">Return to ${app}${icon('arrowRight')}</a></div>`
    : undefined;
  const body = html`<header class="gh-header">
${avatar(providerName, 'success')}
<h1 class="gh-title">You’re connected to ${providerName}</h1>
${next}
</header>
${action}`;
  return renderPage({ title: `Connected to ${providerName}`, body, reassurance: reassurance(appName) });
}

/**
 * The page shown when the authorization failed: the provider said no (`access_denied`) or the
 * exchange failed. Shows `reason` and `detail` (escaped) and what to do next.
 */
export function failedPage(options: FailedPageOptions): string {
  const { providerName, appName } = options;
  const reason = options.reason.trim() || 'Unknown error';
  const detail = options.detail?.trim();
  const redirectUrl = safeUrl(options.redirectUrl);
  const app = appOr(appName, 'the app');
  const body = html`<header class="gh-header">
${avatar(providerName, 'danger')}
<h1 class="gh-title">Couldn’t connect to ${providerName}</h1>
<p class="gh-lead">Your ${providerName} account was not connected, and nothing was saved.</p>
</header>
<dl class="gh-details">
<dt>Reason</dt>
<dd>${reason}</dd>
${detail ? html`<dt>Details</dt><dd>${detail}</dd>` : undefined}
</dl>
<section class="gh-panel" aria-labelledby="gh-next-title">
<h2 class="gh-panel-title" id="gh-next-title">What to do next</h2>
<ul class="gh-steps">
<li>Return to ${app} and start again.</li>
<li>If you declined by mistake, approve the request when ${providerName} asks.</li>
<li>If it keeps failing, contact the support of ${app}.</li>
</ul>
</section>
${redirectUrl ? html`<div class="gh-actions"><a class="gh-button gh-button--primary" href="${redirectUrl}">Return to ${app}${icon('arrowRight')}</a></div>` : undefined}`;
  return renderPage({ title: `Couldn’t connect to ${providerName}`, body });
}

/** The page shown when the setup link has expired: ask the app for a new one. */
export function expiredPage(options: ExpiredPageOptions = {}): string {
  const providerName = options.providerName?.trim() || undefined;
  const app = appOr(options.appName, 'the app');
  const lead = providerName
    ? html`This link to connect your ${providerName} account is no longer valid. For your security, setup links only work for a short time.`
    : html`For your security, setup links only work for a short time.`;
  const body = html`<header class="gh-header">
${avatar(providerName, 'warning')}
<h1 class="gh-title">This link has expired</h1>
<p class="gh-lead">${lead}</p>
</header>
<section class="gh-panel" aria-labelledby="gh-next-title">
<h2 class="gh-panel-title" id="gh-next-title">What to do next</h2>
<p class="gh-hint">Return to ${app} and start again: it will give you a new link.</p>
</section>`;
  return renderPage({ title: 'Link expired', body });
}

/**
 * A generic error page (unknown setup session, invalid or mismatched `state`, server error). It
 * shows only `title`, `message` and `status`: callers must keep security-check reasons out of them.
 */
export function errorPage(options: ErrorPageOptions): string {
  const status = Number.isInteger(options.status) && options.status >= 400 && options.status <= 599 ? options.status : undefined;
  const title = options.title.trim() || 'Something went wrong';
  const body = html`<header class="gh-header">
${avatar(undefined, 'neutral')}
${status ? html`<p class="gh-eyebrow">Error ${status}</p>` : undefined}
<h1 class="gh-title">${title}</h1>
<p class="gh-lead">${options.message}</p>
</header>`;
  return renderPage({ title, body });
}
