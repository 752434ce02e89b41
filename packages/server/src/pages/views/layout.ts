/**
 * The document shell of Gatehouse's hosted pages and the small HTML toolkit the views are built with.
 *
 * Everything here is pure: functions take values and return strings. Markup is built with the
 * {@link html} tagged template, which escapes every interpolated value unless it is already
 * {@link SafeHtml} (the result of another `html` template, or of {@link raw} for markup the caller
 * vouches for). The pages are served under a strict Content-Security-Policy, so the shell links one
 * stylesheet ({@link STYLESHEET_PATH}) and carries no script, no `<style>` element and no `style`
 * attribute.
 *
 * @module
 */
import { STYLESHEET_PATH } from './stylesheet.js';

export { STYLESHEET_PATH, gatehouseStylesheet } from './stylesheet.js';

/** The `Content-Security-Policy` the hosted pages are designed for (and tested under). */
export const HOSTED_PAGES_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * A string of HTML that is safe to insert as is: produced by {@link html} (whose interpolations are
 * escaped) or explicitly trusted with {@link raw}.
 */
export class SafeHtml {
  readonly #value: string;

  /** Prefer {@link html} or {@link raw}; the constructor does not escape. */
  constructor(value: string) {
    this.#value = value;
  }

  /** The markup. */
  toString(): string {
    return this.#value;
  }
}

/** A value that can be interpolated in {@link html}: text is escaped, `SafeHtml` inserted as is, `null`/`undefined`/booleans dropped. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes text for use in HTML content and in quoted attribute values.
 *
 * @example escapeHtml('<b title="x">') === '&lt;b title=&quot;x&quot;&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/** Marks markup as trusted. Only for constant markup or markup already escaped: never for user or provider text. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function appendValue(out: string[], value: HtmlValue): void {
  if (value === null || value === undefined || typeof value === 'boolean') return;
  if (value instanceof SafeHtml) {
    out.push(value.toString());
  } else if (typeof value === 'string') {
    out.push(escapeHtml(value));
  } else if (typeof value === 'number') {
    out.push(escapeHtml(String(value)));
  } else {
    for (const item of value) appendValue(out, item);
  }
}

/**
 * Tagged template for markup: every interpolation is escaped (arrays are concatenated, `null`,
 * `undefined` and booleans render nothing) unless it is {@link SafeHtml}.
 *
 * Always quote attribute values (`href="${url}"`): escaping covers quoted attributes, not unquoted
 * ones. URLs additionally need {@link safeUrl}; escaping does not neutralise `javascript:`.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  const out: string[] = [];
  strings.forEach((chunk, i) => {
    out.push(chunk);
    if (i < values.length) appendValue(out, values[i]);
  });
  return new SafeHtml(out.join(''));
}

/**
 * Returns `url` if it is safe to put in an `href` or a form `action`: an absolute `http:`/`https:`
 * URL, or a path on this origin (`/setup/...`, but not the protocol-relative `//host`). Anything
 * else (`javascript:`, `data:`, relative paths, garbage) yields `undefined`.
 */
export function safeUrl(url: string | undefined | null): string | undefined {
  if (typeof url !== 'string') return undefined;
  const trimmed = url.trim();
  // Browsers ignore tabs and newlines inside URLs ("java\tscript:"): refuse control characters outright.
  if (trimmed === '' || /\p{Cc}/u.test(trimmed)) return undefined;
  if (trimmed.startsWith('/')) {
    // "//evil.example" and "/\evil.example" are other origins to a browser.
    if (trimmed.startsWith('//') || trimmed.startsWith('/\\')) return undefined;
    return trimmed;
  }
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  return parsed.href;
}

// Icons: 24x24 strokes drawn with `currentColor`; presentation lives in the stylesheet (`.gh-icon`).
const ICON_PATHS = {
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  x: '<path d="M7 7l10 10M17 7L7 17"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7.5V12l3 2"/>',
  lock: '<rect x="5" y="10.5" width="14" height="10" rx="2.5"/><path d="M8.5 10.5V7.5a3.5 3.5 0 0 1 7 0v3"/>',
  arrowRight: '<path d="M5 12h14M13 6l6 6-6 6"/>',
  external: '<path d="M14 5h5v5M19 5l-8 8M17 14v4a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h4"/>',
  alert: '<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.5v.01"/>',
  key: '<circle cx="8" cy="15" r="4"/><path d="M11 12l8-8M16 7l2.5 2.5M14 9l2 2"/>',
  gatehouse: '<path d="M4 20.5V10l8-6 8 6v10.5"/><path d="M9.5 20.5v-5a2.5 2.5 0 0 1 5 0v5"/><path d="M2.5 20.5h19"/>',
  shield: '<path d="M12 3l7 3v5.5c0 4.3-3 8-7 9.5-4-1.5-7-5.2-7-9.5V6z"/><path d="M9 12l2 2 4-4"/>',
} as const;

/** Names of the inline SVG icons available to the views. */
export type IconName = keyof typeof ICON_PATHS;

/** An inline, decorative (`aria-hidden`) SVG icon. */
export function icon(name: IconName, className = ''): SafeHtml {
  const cls = className ? `gh-icon ${className}` : 'gh-icon';
  return raw(
    `<svg class="${escapeHtml(cls)}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">${ICON_PATHS[name]}</svg>`,
  );
}

// The favicon is a data: URL (allowed by `img-src data:`), so browsers do not ask for /favicon.ico.
const FAVICON =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4f46e5"/>' +
      '<g fill="none" stroke="#fff" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" transform="translate(4 4)">' +
      ICON_PATHS.gatehouse +
      '</g></svg>',
  );

/** Options of {@link renderPage}. */
export interface RenderPageOptions {
  /** The document title (plain text; " · Gatehouse" is appended). */
  title: string;
  /** The content of the card, built with {@link html}. */
  body: SafeHtml;
  /**
   * A short reassurance shown at the foot of the card next to a lock, typically
   * "Gatehouse stores this credential encrypted; Acme never sees it." (plain text, escaped).
   */
  reassurance?: string;
  /** The `lang` of the document. Default `"en"`. */
  lang?: string;
  /** Where the stylesheet is served. Default {@link STYLESHEET_PATH}. */
  stylesheetHref?: string;
}

/**
 * Renders a complete HTML document: a centered card holding `body` (and `reassurance` at its
 * foot, when given), and a footer with the Gatehouse brand. Light and dark themes follow
 * `prefers-color-scheme`.
 */
export function renderPage(options: RenderPageOptions): string {
  const lang = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(options.lang ?? '') ? options.lang : 'en';
  const stylesheet = safeUrl(options.stylesheetHref ?? STYLESHEET_PATH) ?? STYLESHEET_PATH;
  const reassurance = options.reassurance
    ? html`<p class="gh-card-foot">${icon('lock')}<span>${options.reassurance}</span></p>`
    : undefined;
  const doc = html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${options.title} · Gatehouse</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="${stylesheet}">
</head>
<body>
<div class="gh-page">
<main class="gh-main">
<div class="gh-card">
<div class="gh-card-body">
${options.body}
</div>
${reassurance}
</div>
</main>
<footer class="gh-footer">
<p class="gh-brand">Secured by ${icon('gatehouse', 'gh-brand-logo')}<span class="gh-brand-name">Gatehouse</span></p>
</footer>
</div>
</body>
</html>
`;
  return doc.toString();
}
