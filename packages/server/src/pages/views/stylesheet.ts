/**
 * The one stylesheet of Gatehouse's hosted pages. The pages are served with
 * `style-src 'self'`, so all presentation lives here and is served at {@link STYLESHEET_PATH}
 * (as `text/css`); the markup carries no `<style>` element and no `style` attribute.
 *
 * @module
 */

/** The path the server must serve {@link gatehouseStylesheet} at (with `Content-Type: text/css; charset=utf-8`). */
export const STYLESHEET_PATH = '/assets/gatehouse.css';

/** The CSS of the hosted pages: light and dark themes (`prefers-color-scheme`), responsive down to 320px. */
export const gatehouseStylesheet = String.raw`/* Gatehouse hosted pages */
:root {
  color-scheme: light dark;
  --gh-font: -apple-system, BlinkMacSystemFont, "Segoe UI", Inter, Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", system-ui, sans-serif;
  --gh-mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;

  --gh-bg: #f3f4f7;
  --gh-glow: rgba(79, 70, 229, 0.10);
  --gh-card: #ffffff;
  --gh-card-foot: #f9fafb;
  --gh-border: #e4e7ec;
  --gh-border-strong: #cfd4dc;
  --gh-text: #101828;
  --gh-text-muted: #475467;
  --gh-text-subtle: #555e6e;
  --gh-link: #4338ca;
  --gh-link-hover: #312e81;
  --gh-primary: #4f46e5;
  --gh-primary-hover: #4338ca;
  --gh-primary-active: #3730a3;
  --gh-primary-text: #ffffff;
  --gh-focus: #4f46e5;
  --gh-focus-ring: rgba(79, 70, 229, 0.28);
  --gh-input-bg: #ffffff;
  --gh-code-bg: #f2f4f7;
  --gh-check: #4f46e5;
  --gh-check-bg: #eef0fe;
  --gh-success: #067647;
  --gh-success-solid: #079455;
  --gh-danger: #b42318;
  --gh-danger-solid: #d92d20;
  --gh-danger-bg: #fef3f2;
  --gh-danger-border: #fecdca;
  --gh-warning-solid: #dc6803;
  --gh-neutral-solid: #667085;
  --gh-shadow: 0 1px 2px rgba(16, 24, 40, 0.05), 0 12px 32px -12px rgba(16, 24, 40, 0.18);
  --gh-radius: 16px;
  --gh-pad: 32px;
}

@media (prefers-color-scheme: dark) {
  :root {
    --gh-bg: #0b0c10;
    --gh-glow: rgba(99, 102, 241, 0.16);
    --gh-card: #15171d;
    --gh-card-foot: #111318;
    --gh-border: #262932;
    --gh-border-strong: #3a3f4b;
    --gh-text: #f2f4f7;
    --gh-text-muted: #b3bac6;
    --gh-text-subtle: #9aa3b2;
    --gh-link: #a5b4fc;
    --gh-link-hover: #c7d2fe;
    --gh-primary: #4f46e5;
    --gh-primary-hover: #5a52ee;
    --gh-primary-active: #4338ca;
    --gh-focus: #a5b4fc;
    --gh-focus-ring: rgba(129, 140, 248, 0.35);
    --gh-input-bg: #0f1116;
    --gh-code-bg: #1f222a;
    --gh-check: #a5b4fc;
    --gh-check-bg: rgba(129, 140, 248, 0.14);
    --gh-success: #47cd89;
    --gh-danger: #fda29b;
    --gh-danger-bg: rgba(240, 68, 56, 0.10);
    --gh-danger-border: rgba(240, 68, 56, 0.35);
    --gh-shadow: 0 1px 2px rgba(0, 0, 0, 0.4), 0 16px 40px -16px rgba(0, 0, 0, 0.7);
  }
}

*, *::before, *::after { box-sizing: border-box; }

html {
  -webkit-text-size-adjust: 100%;
  text-size-adjust: 100%;
}

body {
  margin: 0;
  min-height: 100vh;
  min-height: 100dvh;
  font-family: var(--gh-font);
  font-size: 15px;
  line-height: 1.5;
  color: var(--gh-text);
  background-color: var(--gh-bg);
  background-image: radial-gradient(ellipse 900px 480px at 50% -120px, var(--gh-glow), transparent 70%);
  background-repeat: no-repeat;
  -webkit-font-smoothing: antialiased;
  -moz-osx-font-smoothing: grayscale;
}

:focus-visible {
  outline: 2px solid var(--gh-focus);
  outline-offset: 2px;
}

/* Page frame */
.gh-page {
  min-height: 100vh;
  min-height: 100dvh;
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: center;
  padding: 48px 16px 32px;
}

.gh-main { width: 100%; max-width: 432px; }

.gh-card {
  background: var(--gh-card);
  border: 1px solid var(--gh-border);
  border-radius: var(--gh-radius);
  box-shadow: var(--gh-shadow);
  overflow: hidden;
}

.gh-card-body { padding: var(--gh-pad) var(--gh-pad) 28px; }

.gh-card-foot {
  display: flex;
  align-items: flex-start;
  gap: 10px;
  margin: 0;
  padding: 14px var(--gh-pad);
  border-top: 1px solid var(--gh-border);
  background: var(--gh-card-foot);
  font-size: 13px;
  line-height: 1.45;
  color: var(--gh-text-muted);
}

.gh-card-foot .gh-icon {
  flex: none;
  width: 16px;
  height: 16px;
  margin-top: 1px;
  color: var(--gh-success);
}

@media (prefers-reduced-motion: no-preference) {
  .gh-card { animation: gh-enter 0.32s cubic-bezier(0.2, 0.8, 0.2, 1) both; }
  @keyframes gh-enter {
    from { opacity: 0; transform: translateY(6px) scale(0.995); }
    to { opacity: 1; transform: none; }
  }
}

/* Icons */
.gh-icon {
  display: inline-block;
  width: 20px;
  height: 20px;
  flex: none;
  fill: none;
  stroke: currentColor;
  stroke-width: 2;
  stroke-linecap: round;
  stroke-linejoin: round;
  vertical-align: middle;
}

/* Header: provider badge, title, lead */
.gh-header { text-align: center; }

.gh-avatar {
  position: relative;
  display: inline-flex;
  align-items: center;
  justify-content: center;
  width: 60px;
  height: 60px;
  margin: 0 0 18px;
  border-radius: 16px;
  color: #ffffff;
  font-size: 26px;
  font-weight: 650;
  line-height: 1;
  letter-spacing: -0.01em;
  user-select: none;
  box-shadow: inset 0 0 0 1px rgba(255, 255, 255, 0.14), inset 0 1px 0 rgba(255, 255, 255, 0.22), 0 6px 16px -6px rgba(16, 24, 40, 0.45);
}

.gh-avatar--0 { background: linear-gradient(145deg, #6366f1, #4338ca); }
.gh-avatar--1 { background: linear-gradient(145deg, #0891b2, #0e7490); }
.gh-avatar--2 { background: linear-gradient(145deg, #10b981, #047857); }
.gh-avatar--3 { background: linear-gradient(145deg, #f59e0b, #b45309); }
.gh-avatar--4 { background: linear-gradient(145deg, #f43f5e, #be123c); }
.gh-avatar--5 { background: linear-gradient(145deg, #a855f7, #7e22ce); }
.gh-avatar--6 { background: linear-gradient(145deg, #3b82f6, #1d4ed8); }
.gh-avatar--7 { background: linear-gradient(145deg, #f97316, #c2410c); }
.gh-avatar--neutral { background: linear-gradient(145deg, #667085, #475467); }
.gh-avatar--warning { background: linear-gradient(145deg, #d97706, #b45309); }
.gh-avatar > .gh-icon { width: 28px; height: 28px; }

.gh-avatar-status {
  position: absolute;
  right: -7px;
  bottom: -7px;
  display: inline-flex;
  align-items: center;
  justify-content: center;
  width: 26px;
  height: 26px;
  border-radius: 50%;
  border: 3px solid var(--gh-card);
  color: #ffffff;
}

.gh-avatar-status .gh-icon { width: 14px; height: 14px; stroke-width: 3; }
.gh-avatar-status--success { background: var(--gh-success-solid); }
.gh-avatar-status--danger { background: var(--gh-danger-solid); }
.gh-avatar-status--warning { background: var(--gh-warning-solid); }
.gh-avatar-status--neutral { background: var(--gh-neutral-solid); }

.gh-eyebrow {
  margin: 0 0 6px;
  font-size: 12px;
  font-weight: 600;
  letter-spacing: 0.06em;
  text-transform: uppercase;
  color: var(--gh-text-subtle);
}

.gh-title {
  margin: 0 0 8px;
  font-size: 22px;
  line-height: 1.3;
  font-weight: 650;
  letter-spacing: -0.015em;
  text-wrap: balance;
  overflow-wrap: anywhere;
}

.gh-lead {
  margin: 0 auto;
  max-width: 40ch;
  color: var(--gh-text-muted);
  text-wrap: pretty;
  overflow-wrap: anywhere;
}

.gh-provider-description {
  margin: 10px auto 0;
  max-width: 38ch;
  font-size: 13px;
  color: var(--gh-text-subtle);
  overflow-wrap: anywhere;
}

/* Sections */
.gh-section { margin-top: 24px; }

.gh-section-title {
  margin: 0 0 10px;
  font-size: 13px;
  font-weight: 600;
  color: var(--gh-text-muted);
  overflow-wrap: anywhere;
}

/* Requested permissions */
.gh-scope-box {
  border: 1px solid var(--gh-border);
  border-radius: 12px;
  overflow: hidden;
}

.gh-scopes { list-style: none; margin: 0; padding: 0; }

.gh-scope {
  display: flex;
  align-items: flex-start;
  gap: 12px;
  padding: 12px 14px;
}

.gh-scope + .gh-scope, .gh-more, .gh-more > .gh-scopes { border-top: 1px solid var(--gh-border); }

.gh-scope-check {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  flex: none;
  width: 22px;
  height: 22px;
  margin-top: 1px;
  border-radius: 50%;
  background: var(--gh-check-bg);
  color: var(--gh-check);
}

.gh-scope-check .gh-icon { width: 13px; height: 13px; stroke-width: 3; }

.gh-scope-text {
  display: flex;
  flex-direction: column;
  gap: 2px;
  min-width: 0;
}

.gh-scope-description {
  font-size: 14px;
  line-height: 1.45;
  color: var(--gh-text);
  overflow-wrap: anywhere;
}

.gh-scope-name {
  font-family: var(--gh-mono);
  font-size: 12px;
  line-height: 1.5;
  color: var(--gh-text-muted);
  overflow-wrap: anywhere;
}

.gh-scope-name--primary { font-size: 13px; color: var(--gh-text); }

.gh-more > summary {
  display: flex;
  align-items: center;
  gap: 6px;
  padding: 10px 14px;
  font-size: 13px;
  font-weight: 600;
  color: var(--gh-link);
  cursor: pointer;
  list-style: none;
  user-select: none;
}

.gh-more > summary::-webkit-details-marker { display: none; }
.gh-more > summary:hover { background: var(--gh-card-foot); }
.gh-more > summary:focus-visible { outline-offset: -2px; border-radius: 0 0 11px 11px; }
.gh-more > summary .gh-icon { width: 16px; height: 16px; transition: transform 0.15s; transform: rotate(90deg); }
.gh-more[open] > summary .gh-icon { transform: rotate(-90deg); }
.gh-more .gh-more-less, .gh-more[open] .gh-more-more { display: none; }
.gh-more[open] .gh-more-less { display: inline; }

/* Buttons and links */
.gh-actions { margin-top: 24px; }

.gh-button {
  display: flex;
  align-items: center;
  justify-content: center;
  gap: 8px;
  width: 100%;
  min-height: 46px;
  margin: 0;
  padding: 11px 18px;
  border: 1px solid transparent;
  border-radius: 10px;
  font: inherit;
  font-size: 15px;
  font-weight: 600;
  line-height: 1.3;
  text-align: center;
  text-decoration: none;
  overflow-wrap: anywhere;
  cursor: pointer;
  transition: background-color 0.15s ease, border-color 0.15s ease, box-shadow 0.15s ease, transform 0.05s ease;
}

.gh-button .gh-icon { width: 18px; height: 18px; transition: transform 0.15s ease; }

.gh-button--primary {
  background: var(--gh-primary);
  color: var(--gh-primary-text);
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.12), inset 0 1px 0 rgba(255, 255, 255, 0.14);
}

.gh-button--primary:hover { background: var(--gh-primary-hover); }
.gh-button--primary:hover .gh-icon { transform: translateX(2px); }
.gh-button--primary:active { background: var(--gh-primary-active); transform: translateY(1px); }

.gh-button--secondary {
  background: var(--gh-card);
  color: var(--gh-text);
  border-color: var(--gh-border-strong);
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.06);
}

.gh-button--secondary:hover { background: var(--gh-card-foot); }

.gh-link {
  color: var(--gh-link);
  font-weight: 500;
  text-decoration: underline;
  text-decoration-thickness: 1px;
  text-underline-offset: 3px;
  border-radius: 3px;
}

.gh-link:hover { color: var(--gh-link-hover); text-decoration-thickness: 2px; }
.gh-link .gh-icon { width: 14px; height: 14px; margin-left: 3px; vertical-align: -2px; }

.gh-meta {
  display: flex;
  align-items: center;
  justify-content: center;
  gap: 6px;
  margin: 14px 0 0;
  font-size: 13px;
  color: var(--gh-text-subtle);
  text-align: center;
}

.gh-meta .gh-icon { width: 15px; height: 15px; }

/* Form */
.gh-form { margin: 24px 0 0; }

.gh-field { display: flex; flex-direction: column; gap: 6px; }

.gh-label {
  font-size: 14px;
  font-weight: 600;
  color: var(--gh-text);
  overflow-wrap: anywhere;
}

.gh-input {
  width: 100%;
  min-height: 46px;
  margin: 0;
  padding: 10px 14px;
  border: 1px solid var(--gh-border-strong);
  border-radius: 10px;
  background: var(--gh-input-bg);
  color: var(--gh-text);
  font-family: var(--gh-mono);
  font-size: 15px;
  line-height: 1.4;
  letter-spacing: 0.02em;
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.05);
  transition: border-color 0.15s ease, outline-color 0.15s ease;
}

.gh-input::placeholder { color: var(--gh-text-subtle); opacity: 1; letter-spacing: 0; }
.gh-input:hover { border-color: var(--gh-text-subtle); }

.gh-input:focus, .gh-input:focus-visible {
  border-color: var(--gh-focus);
  outline: 3px solid var(--gh-focus-ring);
  outline-offset: 0;
}

.gh-input[aria-invalid="true"] { border-color: var(--gh-danger-solid); }
.gh-input[aria-invalid="true"]:focus { outline-color: rgba(217, 45, 32, 0.25); }

.gh-hint {
  margin: 0;
  font-size: 13px;
  line-height: 1.45;
  color: var(--gh-text-muted);
  overflow-wrap: anywhere;
}

.gh-hint + .gh-hint { margin-top: 2px; }

/* Callouts */
.gh-callout {
  display: flex;
  align-items: flex-start;
  gap: 10px;
  margin: 0 0 16px;
  padding: 12px 14px;
  border: 1px solid var(--gh-border);
  border-radius: 10px;
  font-size: 14px;
  line-height: 1.45;
  overflow-wrap: anywhere;
}

.gh-callout > .gh-icon { width: 18px; height: 18px; margin-top: 1px; }
.gh-callout-text { min-width: 0; }
.gh-callout--danger { background: var(--gh-danger-bg); border-color: var(--gh-danger-border); color: var(--gh-text); }
.gh-callout--danger > .gh-icon { color: var(--gh-danger); }

/* Failure details */
.gh-details {
  margin: 24px 0 0;
  padding: 14px 16px;
  border: 1px solid var(--gh-danger-border);
  border-radius: 12px;
  background: var(--gh-danger-bg);
  font-size: 14px;
}

.gh-details dt {
  font-size: 12px;
  font-weight: 600;
  letter-spacing: 0.04em;
  text-transform: uppercase;
  color: var(--gh-text-muted);
}

.gh-details dd {
  margin: 2px 0 0;
  color: var(--gh-text);
  overflow-wrap: anywhere;
  white-space: pre-line;
}

.gh-details dd + dt { margin-top: 12px; }
.gh-details code { font-family: var(--gh-mono); font-size: 13px; }

.gh-steps {
  margin: 6px 0 0;
  padding-left: 18px;
  color: var(--gh-text-muted);
  font-size: 14px;
}

.gh-steps li + li { margin-top: 4px; }

.gh-panel {
  margin: 24px 0 0;
  padding: 14px 16px;
  border: 1px solid var(--gh-border);
  border-radius: 12px;
  background: var(--gh-card-foot);
}

.gh-details + .gh-panel { margin-top: 12px; }

.gh-panel-title {
  margin: 0 0 4px;
  font-size: 14px;
  font-weight: 600;
  color: var(--gh-text);
}

.gh-panel .gh-hint { font-size: 14px; }

/* Footer */
.gh-footer {
  width: 100%;
  max-width: 432px;
  margin-top: 20px;
  text-align: center;
  font-size: 12.5px;
  color: var(--gh-text-subtle);
}

.gh-brand {
  display: inline-flex;
  align-items: center;
  gap: 5px;
  margin: 0;
}

.gh-brand-logo { width: 15px; height: 15px; color: var(--gh-text-muted); }
.gh-brand-name { font-weight: 650; letter-spacing: -0.01em; color: var(--gh-text-muted); }

.gh-visually-hidden {
  position: absolute !important;
  width: 1px;
  height: 1px;
  padding: 0;
  margin: -1px;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}

/* Small screens */
@media (max-width: 480px) {
  :root { --gh-pad: 22px; --gh-radius: 14px; }
  body { font-size: 15px; }
  .gh-page { justify-content: flex-start; padding: 24px 12px 24px; }
  .gh-card-body { padding-bottom: 24px; }
  .gh-title { font-size: 20px; }
  .gh-avatar { width: 56px; height: 56px; font-size: 24px; margin-bottom: 16px; }
}

/* Windows high contrast and other forced-colors modes */
@media (forced-colors: active) {
  .gh-button, .gh-input, .gh-card, .gh-scope-box, .gh-callout, .gh-details { border: 1px solid CanvasText; }
  .gh-avatar { forced-color-adjust: none; }
}
`;
