import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, html, raw, renderPage, safeUrl } from './layout.js';
import {
  HOSTED_PAGES_CSP,
  STYLESHEET_PATH,
  apiKeyFormPage,
  completedPage,
  errorPage,
  expiredPage,
  failedPage,
  formatTimeLeft,
  gatehouseStylesheet,
  oauthStartPage,
  providerHue,
  providerInitial,
} from './setup-pages.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const IN_15_MIN = new Date(NOW.getTime() + 15 * 60_000);

const SCRIPT = '<script>alert(1)</script>';
const SCRIPT_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';
const IMG = '"><img src=x onerror=alert(1)>';
const IMG_ESCAPED = '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;';
const JS_URL = 'javascript:alert(1)';
const HOSTILE = `${SCRIPT}${IMG} ${JS_URL}`;
const HOSTILE_ESCAPED = `${SCRIPT_ESCAPED}${IMG_ESCAPED} ${JS_URL}`;

const slackScopes = [
  { name: 'channels:read', description: 'View basic information about public channels' },
  { name: 'chat:write', description: 'Send messages as you' },
  { name: 'users:read' },
];

/** Every page, rendered with hostile text in every text field. */
function hostilePages() {
  return {
    oauthStart: oauthStartPage({
      providerName: HOSTILE,
      providerDescription: HOSTILE,
      scopes: [{ name: HOSTILE, description: HOSTILE }, { name: HOSTILE }],
      authorizeUrl: '/setup/pas_1/authorize',
      expiresAt: IN_15_MIN,
      now: NOW,
      appName: HOSTILE,
    }),
    apiKeyForm: apiKeyFormPage({
      providerName: HOSTILE,
      label: HOSTILE,
      description: HOSTILE,
      placeholder: HOSTILE,
      docsUrl: 'https://example.com/keys',
      formAction: '/setup/pas_1/api-key',
      csrfToken: HOSTILE,
      error: HOSTILE,
      expiresAt: IN_15_MIN,
      now: NOW,
      appName: HOSTILE,
    }),
    completed: completedPage({ providerName: HOSTILE, appName: HOSTILE }),
    completedWithRedirect: completedPage({ providerName: HOSTILE, redirectUrl: 'https://app.example/done', appName: HOSTILE }),
    failed: failedPage({ providerName: HOSTILE, reason: HOSTILE, detail: HOSTILE, appName: HOSTILE }),
    expired: expiredPage({ providerName: HOSTILE, appName: HOSTILE }),
    error: errorPage({ title: HOSTILE, message: HOSTILE, status: 400 }),
  };
}

/** Every page, with realistic content: these are the ones rendered in the browser. */
function samplePages(): Record<string, string> {
  return {
    'oauth-start': oauthStartPage({
      providerName: 'Slack',
      providerDescription: 'Messaging for teams: channels, threads and direct messages.',
      scopes: slackScopes,
      authorizeUrl: '/setup/pas_demo/authorize',
      expiresAt: IN_15_MIN,
      now: NOW,
      appName: 'Acme Assistant',
    }),
    'oauth-start-many-scopes': oauthStartPage({
      providerName: 'Google Calendar',
      scopes: [
        { name: 'https://www.googleapis.com/auth/calendar.readonly', description: 'See and download any calendar you can access' },
        { name: 'https://www.googleapis.com/auth/calendar.events', description: 'View and edit events on all your calendars' },
        { name: 'openid' },
        { name: 'email', description: 'See your primary email address' },
        { name: 'profile', description: 'See your personal info, including any personal info you’ve made publicly available' },
        { name: 'https://www.googleapis.com/auth/calendar.settings.readonly', description: 'See your calendar settings' },
        { name: 'https://www.googleapis.com/auth/calendar.freebusy' },
      ],
      authorizeUrl: '/setup/pas_demo/authorize',
      expiresAt: new Date(NOW.getTime() + 90 * 60_000),
      now: NOW,
    }),
    'oauth-start-no-scopes': oauthStartPage({
      providerName: 'GitHub',
      scopes: [],
      authorizeUrl: '/setup/pas_demo/authorize',
      expiresAt: IN_15_MIN,
      now: NOW,
    }),
    'api-key': apiKeyFormPage({
      providerName: 'Exa',
      label: 'API key',
      description: 'Create a key in the Exa dashboard under API Keys. It starts with “exa_”.',
      placeholder: 'exa_…',
      docsUrl: 'https://dashboard.exa.ai/api-keys',
      formAction: '/submit/api-key',
      csrfToken: 'csrf-token-123',
      expiresAt: IN_15_MIN,
      now: NOW,
      appName: 'Acme Assistant',
    }),
    'api-key-error': apiKeyFormPage({
      providerName: 'Exa',
      label: 'API key',
      placeholder: 'exa_…',
      docsUrl: 'https://dashboard.exa.ai/api-keys',
      formAction: '/submit/api-key',
      csrfToken: 'csrf-token-123',
      error: 'Exa rejected this key (401 Unauthorized). Check that you copied all of it.',
      expiresAt: IN_15_MIN,
      now: NOW,
    }),
    completed: completedPage({ providerName: 'Slack' }),
    'completed-redirect': completedPage({ providerName: 'Slack', redirectUrl: 'https://app.example/oauth/callback', appName: 'Acme Assistant' }),
    failed: failedPage({
      providerName: 'GitHub',
      reason: 'access_denied',
      detail: 'The user has denied your application access. <script>alert("x")</script>',
    }),
    expired: expiredPage({ providerName: 'Google Calendar' }),
    'expired-unknown': expiredPage(),
    error: errorPage({ title: 'This link is not valid', message: 'We couldn’t complete this request. Return to the app and start again.', status: 400 }),
  };
}

describe('escaping helpers', () => {
  it('escapes text and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\``)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;');
  });

  it('html escapes interpolations but not nested html or raw', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${raw('<br>')}${'<br>'}${[1, ' & ', null, undefined, false]}</p>`.toString()).toBe(
      '<p><b>&lt;i&gt;</b><br>&lt;br&gt;1 &amp; </p>',
    );
  });

  it('safeUrl keeps http(s) URLs and same-origin paths only', () => {
    expect(safeUrl('https://app.example/cb?x=1')).toBe('https://app.example/cb?x=1');
    expect(safeUrl('/setup/pas_1/authorize')).toBe('/setup/pas_1/authorize');
    for (const bad of [JS_URL, ' JavaScript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,x', '//evil.example', '/\\evil.example', 'relative/path', '', undefined]) {
      expect(safeUrl(bad), String(bad)).toBeUndefined();
    }
  });

  it('renderPage produces a complete document with the stylesheet', () => {
    const doc = renderPage({ title: SCRIPT, body: html`<p>hi</p>` });
    expect(doc.startsWith('<!doctype html>')).toBe(true);
    expect(doc).toContain('<html lang="en">');
    expect(doc).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(doc).toContain(`<link rel="stylesheet" href="${STYLESHEET_PATH}">`);
    expect(doc).toContain(`<title>${SCRIPT_ESCAPED} · Gatehouse</title>`);
    expect(doc).not.toContain(SCRIPT);
  });
});

describe('hosted setup pages: escaping and CSP-compatibility', () => {
  const pages = hostilePages();

  for (const [name, page] of Object.entries(pages)) {
    it(`${name}: escapes hostile text`, () => {
      expect(page).not.toContain(SCRIPT);
      expect(page).not.toContain(IMG);
      expect(page).not.toMatch(/<img/i);
      // No tag carries an event-handler attribute (quoted values hold only escaped text, so drop them first).
      for (const tag of page.match(/<[a-zA-Z][^>]*>/g) ?? []) {
        expect(tag.replace(/"[^"]*"/g, '""')).not.toMatch(/\son[a-z]+\s*=/i);
      }
      expect(page).toContain(SCRIPT_ESCAPED);
      expect(page).toContain(IMG_ESCAPED);
      expect(page).toContain(HOSTILE_ESCAPED);
      expect(page).not.toMatch(/(href|action|src)="\s*javascript:/i);
    });

    it(`${name}: has no script, no style element and no style attribute`, () => {
      expect(page).not.toMatch(/<script/i);
      expect(page).not.toMatch(/<style/i);
      expect(page).not.toMatch(/style=/i);
      expect(page).toContain(`<link rel="stylesheet" href="${STYLESHEET_PATH}">`);
      expect(page).toContain('<html lang="en">');
    });
  }

  it('the sample pages also have no script or inline style', () => {
    for (const [name, page] of Object.entries(samplePages())) {
      expect(page, name).not.toMatch(/<script|<style|style=/i);
    }
  });

  it('drops javascript: and other unsafe URLs in links, and refuses them where a link is required', () => {
    const form = apiKeyFormPage({
      providerName: 'Exa', label: 'API key', docsUrl: JS_URL, formAction: '/a', csrfToken: 't', expiresAt: IN_15_MIN, now: NOW,
    });
    expect(form).not.toContain('javascript:');
    expect(form).not.toContain('Where do I find');

    const done = completedPage({ providerName: 'Slack', redirectUrl: JS_URL });
    expect(done).not.toContain('javascript:');
    expect(done).toContain('You can close this window');

    const failed = failedPage({ providerName: 'Slack', reason: 'x', redirectUrl: '//evil.example' });
    expect(failed).not.toContain('evil.example');

    expect(() =>
      oauthStartPage({ providerName: 'Slack', scopes: [], authorizeUrl: JS_URL, expiresAt: IN_15_MIN, now: NOW }),
    ).toThrow(TypeError);
    expect(() =>
      apiKeyFormPage({ providerName: 'Exa', label: 'Key', formAction: 'data:text/html,x', csrfToken: 't', expiresAt: IN_15_MIN, now: NOW }),
    ).toThrow(TypeError);
  });
});

describe('oauthStartPage', () => {
  const page = oauthStartPage({
    providerName: 'Slack',
    providerDescription: 'Team messaging',
    scopes: slackScopes,
    authorizeUrl: 'https://gatehouse.example/setup/pas_1/authorize?x=1&y=2',
    expiresAt: IN_15_MIN,
    now: NOW,
  });

  it('names the provider and lists the scopes in order, with descriptions when known', () => {
    expect(page).toContain('Connect your Slack account');
    expect(page).toContain('Team messaging');
    const positions = ['View basic information about public channels', 'channels:read', 'Send messages as you', 'chat:write', 'users:read'].map((s) =>
      page.indexOf(s),
    );
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(page.match(/<li class="gh-scope">/g)).toHaveLength(3);
  });

  it('links to the authorize URL with a plain "Continue to <Provider>" link', () => {
    expect(page).toMatch(
      /<a class="gh-button gh-button--primary" href="https:\/\/gatehouse\.example\/setup\/pas_1\/authorize\?x=1&amp;y=2">Continue to Slack</,
    );
  });

  it('says how long the link stays valid', () => {
    expect(page).toContain(`This link expires in <time datetime="${IN_15_MIN.toISOString()}">15 minutes</time>.`);
  });

  it('folds long scope lists behind a disclosure and handles an empty list', () => {
    const many = oauthStartPage({
      providerName: 'X',
      scopes: Array.from({ length: 9 }, (_, i) => ({ name: `scope_${i}` })),
      authorizeUrl: '/a', expiresAt: IN_15_MIN, now: NOW,
    });
    expect(many).toContain('Show 4 more');
    for (let i = 0; i < 9; i++) expect(many).toContain(`scope_${i}`);
    const none = oauthStartPage({ providerName: 'GitHub', scopes: [], authorizeUrl: '/a', expiresAt: IN_15_MIN, now: NOW });
    expect(none).toContain('Basic access to your GitHub account');
  });

  it('reassures that the app never sees the credential', () => {
    expect(page).toContain('Gatehouse stores this credential encrypted; the app you came from never sees it.');
    const named = oauthStartPage({ providerName: 'Slack', scopes: [], authorizeUrl: '/a', expiresAt: IN_15_MIN, now: NOW, appName: 'Acme' });
    expect(named).toContain('Acme never sees it.');
    expect(named).toContain('Gatehouse</span>');
  });
});

describe('apiKeyFormPage', () => {
  const base = {
    providerName: 'Exa',
    label: 'API key',
    description: 'Find it in your dashboard.',
    placeholder: 'exa_...',
    docsUrl: 'https://dashboard.exa.ai/api-keys',
    formAction: '/setup/pas_1/api-key',
    csrfToken: 'tok_123',
    expiresAt: IN_15_MIN,
    now: NOW,
  };
  const page = apiKeyFormPage(base);

  it('posts to formAction with the csrf hidden field', () => {
    expect(page).toMatch(/<form class="gh-form" method="post" action="\/setup\/pas_1\/api-key"/);
    expect(page).toContain('<input type="hidden" name="csrf_token" value="tok_123">');
  });

  it('has a labelled password field api_key without autocomplete, and a "Save key" button', () => {
    const input = /<input class="gh-input" id="gh-api-key"[^>]*>/.exec(page)?.[0] ?? '';
    expect(input).toContain('name="api_key"');
    expect(input).toContain('type="password"');
    expect(input).toContain('autocomplete="off"');
    expect(input).toContain('placeholder="exa_..."');
    expect(input).toContain('aria-describedby="gh-api-key-hint"');
    expect(page).toContain('<label class="gh-label" for="gh-api-key">API key</label>');
    expect(page).toContain('<button class="gh-button gh-button--primary" type="submit">Save key</button>');
    expect(page).toMatch(/href="https:\/\/dashboard\.exa\.ai\/api-keys" target="_blank" rel="noopener noreferrer"/);
  });

  it('shows a validation error above the field', () => {
    const withError = apiKeyFormPage({ ...base, error: 'That key was rejected.' });
    const errorAt = withError.indexOf('That key was rejected.');
    expect(errorAt).toBeGreaterThan(0);
    expect(errorAt).toBeLessThan(withError.indexOf('<input class="gh-input"'));
    expect(withError).toContain('role="alert"');
    expect(withError).toContain('aria-invalid="true"');
    expect(withError).toContain('aria-describedby="gh-api-key-error gh-api-key-hint"');
    expect(page).not.toContain('aria-invalid');
  });
});

describe('completedPage, failedPage, expiredPage, errorPage', () => {
  it('completed: connected, close the window or return to the app', () => {
    const closing = completedPage({ providerName: 'Slack' });
    expect(closing).toContain('You’re connected to Slack');
    expect(closing).toContain('You can close this window.');
    expect(closing).not.toContain('<a ');

    const returning = completedPage({ providerName: 'Slack', redirectUrl: 'https://app.example/cb?a=1&b=2' });
    expect(returning).toContain('<a class="gh-button gh-button--primary" href="https://app.example/cb?a=1&amp;b=2">Return to the app');
    expect(returning).not.toContain('close this window');
  });

  it('failed: shows the reason and detail escaped and what to do next', () => {
    const page = failedPage({ providerName: 'GitHub', reason: 'access_denied', detail: `User said no ${SCRIPT}` });
    expect(page).toContain('Couldn’t connect to GitHub');
    expect(page).toContain('<dd>access_denied</dd>');
    expect(page).toContain(`User said no ${SCRIPT_ESCAPED}`);
    expect(page).toContain('Return to the app and start again.');
  });

  it('expired: asks for a new link, with or without a provider', () => {
    expect(expiredPage({ providerName: 'Slack' })).toContain('This link to connect your Slack account is no longer valid.');
    const unknown = expiredPage();
    expect(unknown).toContain('This link has expired');
    expect(unknown).toContain('Return to the app and start again');
  });

  it('error: shows only the title, message and status', () => {
    const page = errorPage({ title: 'This link is not valid', message: 'Return to the app and start again.', status: 400 });
    expect(page).toContain('<h1 class="gh-title">This link is not valid</h1>');
    expect(page).toContain('<p class="gh-eyebrow">Error 400</p>');
    expect(page).toContain('Return to the app and start again.');
    expect(errorPage({ title: 'x', message: 'y', status: 42 })).not.toContain('gh-eyebrow');
  });
});

describe('small helpers', () => {
  it('formatTimeLeft', () => {
    const at = (ms: number) => formatTimeLeft(new Date(NOW.getTime() + ms), NOW);
    expect(at(0)).toBeUndefined();
    expect(at(-1000)).toBeUndefined();
    expect(at(30_000)).toBe('less than a minute');
    expect(at(60_000)).toBe('1 minute');
    expect(at(14 * 60_000 + 59_000)).toBe('14 minutes');
    expect(at(60 * 60_000)).toBe('1 hour');
    expect(at(90 * 60_000)).toBe('1 hour 30 minutes');
    expect(at(72 * 3600_000)).toBe('3 days');
    expect(formatTimeLeft(new Date(NaN), NOW)).toBeUndefined();
  });

  it('an expired link says so instead of a negative duration', () => {
    const page = oauthStartPage({ providerName: 'Slack', scopes: [], authorizeUrl: '/a', expiresAt: NOW, now: NOW });
    expect(page).toContain('This link has expired.');
  });

  it('provider badge letter and colour', () => {
    expect(providerInitial('slack')).toBe('S');
    expect(providerInitial('  "Exa"')).toBe('E');
    expect(providerInitial('<script>')).toBe('S');
    expect(providerInitial('ééé')).toBe('É');
    expect(providerInitial('***')).toBe('?');
    expect(providerHue('Slack')).toBe(providerHue(' slack '));
    const hues = new Set(['Slack', 'GitHub', 'Google Calendar', 'Exa', 'Linear', 'Notion', 'Jira', 'Stripe'].map(providerHue));
    expect(hues.size).toBeGreaterThan(3);
    for (const h of hues) expect(h >= 0 && h < 8).toBe(true);
  });

  it('the stylesheet has a dark theme, focus styles, and loads nothing else', () => {
    expect(gatehouseStylesheet).toContain('@media (prefers-color-scheme: dark)');
    expect(gatehouseStylesheet).toContain(':focus-visible');
    expect(gatehouseStylesheet).not.toMatch(/@import|url\(/i);
    expect(STYLESHEET_PATH).toBe('/assets/gatehouse.css');
  });
});

// ---------------------------------------------------------------------------------------------
// Visual check in a real browser, under the production CSP.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = '/tmp/gatehouse-pages';

/** Pages with a primary action, and the text of that action. */
const PRIMARY_ACTION: Record<string, string> = {
  'oauth-start': 'Continue to Slack',
  'oauth-start-many-scopes': 'Continue to Google Calendar',
  'oauth-start-no-scopes': 'Continue to GitHub',
  'api-key': 'Save key',
  'api-key-error': 'Save key',
  'completed-redirect': 'Return to Acme Assistant',
};

/** WCAG contrast of every text element that matters, computed in the page against its composited background. */
async function lowContrastTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (c: string): Rgba => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m?.[1]) return [0, 0, 0, 0];
      const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
    };
    const over = (top: Rgba, bottom: Rgba): Rgba => {
      const a = top[3] + bottom[3] * (1 - top[3]);
      if (a === 0) return [0, 0, 0, 0];
      const mix = (i: 0 | 1 | 2) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
      return [mix(0), mix(1), mix(2), a];
    };
    const background = (el: Element | null): Rgba => {
      const layers: Rgba[] = [];
      for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
      }
      let result: Rgba = [255, 255, 255, 1];
      for (const layer of layers.reverse()) result = over(layer, result);
      return result;
    };
    const luminance = ([r, g, b]: Rgba) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const selectors = [
      '.gh-title', '.gh-lead', '.gh-eyebrow', '.gh-provider-description', '.gh-section-title', '.gh-scope-description',
      '.gh-scope-name', '.gh-more > summary', '.gh-button', '.gh-meta', '.gh-label', '.gh-hint', '.gh-link', '.gh-callout-text',
      '.gh-details dt', '.gh-details dd', '.gh-steps', '.gh-panel-title', '.gh-card-foot', '.gh-brand',
    ];
    const failures: string[] = [];
    for (const selector of selectors) {
      for (const el of Array.from(document.querySelectorAll(selector))) {
        const bg = background(el);
        const fg = over(parse(getComputedStyle(el).color), bg);
        const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a) as [number, number];
        const ratio = (l1 + 0.05) / (l2 + 0.05);
        if (ratio < 4.5) failures.push(`${selector}: ${ratio.toFixed(2)}`);
      }
    }
    return failures;
  });
}

describe.skipIf(!existsSync(CHROMIUM))('hosted setup pages in Chromium under the CSP', () => {
  let browser: Browser;
  let server: Server;
  let baseUrl: string;
  let dir: string;
  const posted: string[] = [];
  const notFound: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-pages-'));
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const pages = { ...samplePages(), hostile: hostilePages().failed };
    for (const [name, page] of Object.entries(pages)) await writeFile(join(dir, `${name}.html`), page);

    server = createServer((req, res) => {
      const headers = {
        'Content-Security-Policy': HOSTED_PAGES_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      };
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === STYLESHEET_PATH) {
        res.writeHead(200, { ...headers, 'Content-Type': 'text/css; charset=utf-8' }).end(gatehouseStylesheet);
        return;
      }
      const pageMatch = /^\/pages\/([\w-]+)$/.exec(url.pathname);
      if (req.method === 'GET' && pageMatch?.[1] && pageMatch[1] in pages) {
        readFile(join(dir, `${pageMatch[1]}.html`), 'utf8').then(
          (body) => res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }).end(body),
          () => res.writeHead(500).end(),
        );
        return;
      }
      if (req.method === 'POST' && url.pathname === '/submit/api-key') {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          posted.push(body);
          res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }).end(completedPage({ providerName: 'Exa' }));
        });
        return;
      }
      notFound.push(`${req.method} ${url.pathname}`);
      res.writeHead(404, headers).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const viewports = {
    desktop: { viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, isMobile: false },
    mobile: { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  } as const;

  for (const name of Object.keys(samplePages())) {
    it(`${name}: renders cleanly at desktop and 375px, light and dark`, async () => {
      for (const [size, device] of Object.entries(viewports)) {
        for (const colorScheme of ['light', 'dark'] as const) {
          const context = await browser.newContext({ ...device, colorScheme, reducedMotion: 'reduce' });
          const page = await context.newPage();
          const cspViolations: string[] = [];
          const errors: string[] = [];
          page.on('console', (msg) => {
            if (msg.text().includes('Content Security Policy')) cspViolations.push(msg.text());
          });
          page.on('pageerror', (err) => errors.push(err.message));
          page.on('dialog', (dialog) => {
            errors.push(`dialog: ${dialog.message()}`);
            void dialog.dismiss();
          });
          try {
            const response = await page.goto(`${baseUrl}/pages/${name}`, { waitUntil: 'load' });
            expect(response?.status()).toBe(200);

            // The stylesheet was applied (it would not be if the CSP blocked it).
            const radius = await page.locator('.gh-card').evaluate((el) => getComputedStyle(el).borderTopLeftRadius);
            expect(radius).not.toBe('0px');
            await expect.poll(() => page.locator('h1').isVisible()).toBe(true);

            const action = PRIMARY_ACTION[name];
            if (action) {
              const button = page.locator('.gh-button--primary');
              expect(await button.isVisible()).toBe(true);
              expect((await button.innerText()).trim()).toBe(action);
              const box = await button.boundingBox();
              expect(box?.height ?? 0).toBeGreaterThanOrEqual(44); // a comfortable touch target
            }

            // Nothing overflows sideways, even at 375px.
            const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            expect(overflow).toBeLessThanOrEqual(0);

            expect(await lowContrastTexts(page)).toEqual([]);

            await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${size}-${colorScheme}.png`), fullPage: true, animations: 'disabled' });
            expect(cspViolations).toEqual([]);
            expect(errors).toEqual([]);
          } finally {
            await context.close();
          }
        }
      }
    });
  }

  it('long scope lists expand without script (details/summary)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, reducedMotion: 'reduce' });
    const page = await context.newPage();
    try {
      await page.goto(`${baseUrl}/pages/oauth-start-many-scopes`);
      const hidden = page.getByText('See your calendar settings');
      expect(await hidden.isVisible()).toBe(false);
      await page.getByText('Show 2 more').click();
      expect(await hidden.isVisible()).toBe(true);
      expect(await page.getByText('Show fewer').isVisible()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'oauth-start-many-scopes-open-desktop-light.png'), fullPage: true, animations: 'disabled' });
    } finally {
      await context.close();
    }
  });

  it('hostile provider text stays text in the browser', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    try {
      await page.goto(`${baseUrl}/pages/hostile`);
      expect(await page.locator('script, img, [onerror]').count()).toBe(0);
      expect(await page.locator('h1').innerText()).toContain(SCRIPT);
      expect(await page.locator('.gh-details dd').first().innerText()).toContain(IMG);
      expect(dialogs).toEqual([]);
      expect(await page.title()).toContain(SCRIPT);
    } finally {
      await context.close();
    }
  });

  it('the API-key form posts api_key and csrf_token to its action without a CSP violation', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (msg) => {
      if (msg.text().includes('Content Security Policy')) cspViolations.push(msg.text());
    });
    try {
      await page.goto(`${baseUrl}/pages/api-key`);
      await page.getByLabel('API key').fill('exa_secret_value');
      await Promise.all([page.waitForURL(`${baseUrl}/submit/api-key`), page.getByRole('button', { name: 'Save key' }).click()]);
      const form = new URLSearchParams(posted.at(-1));
      expect(form.get('api_key')).toBe('exa_secret_value');
      expect(form.get('csrf_token')).toBe('csrf-token-123');
      expect(await page.locator('h1').innerText()).toBe('You’re connected to Exa');
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('requested nothing it was not given (no favicon, fonts or images)', () => {
    expect(notFound).toEqual([]);
  });
});
