/**
 * Property-based fuzzing of the OAuth redirect URI `GET /oauth/callback/:deploymentId` (fast-check),
 * against a real oidc-provider upstream.
 *
 * Every generated callback mixes: a `state` that is absent, random, the real one mutated, the real
 * one of a pending attempt (without that attempt's cookie), another attempt's, or a fresh genuine one
 * with its genuine cookie; a `code` that is absent, random, odd unicode, very long or the real code a
 * browser obtained; `iss` absent, right or wrong; `error` / `error_description`; duplicated and extra
 * parameters; raw percent-garbage; a browser-binding cookie that is absent, forged, another attempt's,
 * garbage or genuine; the right deployment, another one, or a garbage path segment.
 *
 * What it proves, for every input:
 * - the server never answers 5xx;
 * - no auth config is ever created;
 * - the upstream's token endpoint never sees a code unless the callback carried a genuine `state`
 *   together with the cookie of the browser that started that attempt (and then at most one
 *   request, with the callback's own code);
 * - no fuzzed callback burns a pending attempt it does not own (the real user's attempts stay pending).
 * Finally the one legitimate callback, held back from a real Chromium authorization, still completes
 * with exactly one token exchange and exactly one auth config.
 */
import fc from 'fast-check';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { captureCallback, createOAuthFixture, startAttemptOverHttp, type OAuthFixture } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

/** About 5–10 s of fuzzing on a busy 2-core machine; the held-back code lives 60 s at the upstream. */
const NUM_RUNS = 200;
/** Attempts started over HTTP and left pending: their states and cookies are fuzz material. */
const DECOY_ATTEMPTS = 3;

// --- the shape of one fuzzed callback ------------------------------------------------------------------

/** Where a pending attempt comes from: the browser-captured one, a decoy, or one made for this run. */
type AttemptRef = { kind: 'legit' } | { kind: 'decoy'; index: number } | { kind: 'fresh' };

type StateChoice =
  | { kind: 'absent' }
  | { kind: 'random'; value: Value }
  /** The browser-captured attempt's real state, altered so it no longer matches. */
  | { kind: 'legit-mutated'; mutation: Mutation }
  /** The real state of a pending attempt, as is. */
  | { kind: 'genuine'; attempt: AttemptRef };

type CookieChoice =
  | { kind: 'none' }
  /** The binding cookie that `attempt`'s browser holds. */
  | { kind: 'of'; attempt: AttemptRef }
  /** A made-up binding value under the name the state's session expects. */
  | { kind: 'forged'; value: string }
  /** Anything at all as the Cookie header (printable ASCII). */
  | { kind: 'garbage'; header: string };

type Mutation = { op: 'append'; char: string } | { op: 'drop-last' } | { op: 'flip-case'; at: number } | { op: 'replace'; at: number; char: string } | { op: 'prefix'; char: string };

/** A parameter value: text that is percent-encoded as UTF-8, or raw bytes put into the URL as they are. */
type Value = { encoding: 'utf8'; text: string } | { encoding: 'raw'; text: string };

interface FuzzCase {
  deployment: { kind: 'own' } | { kind: 'other' } | { kind: 'garbage'; segment: Value };
  state: StateChoice;
  cookie: CookieChoice;
  code: { kind: 'absent' } | { kind: 'value'; value: Value } | { kind: 'legit' };
  iss: { kind: 'absent' } | { kind: 'right' } | { kind: 'wrong'; value: Value };
  error?: Value;
  errorDescription?: Value;
  /** Repeated parameters, appended after the primary ones (so `state`'s first value stays the chosen one). */
  duplicates: Array<{ name: 'state' | 'code' | 'iss' | 'error'; value: Value | 'legit-code' }>;
  extras: Array<{ name: Value; value: Value }>;
  /** Order of the primary parameters. */
  order: Array<'state' | 'code' | 'iss' | 'error' | 'error_description'>;
}

// --- arbitraries ---------------------------------------------------------------------------------------

const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  // Any code point, lone surrogates included (sent as U+FFFD once encoded as UTF-8).
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{20,64}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', '\u0000', '%', '%00', '\r\n', '<script>alert(1)</script>', '"\'`', '../../', 'null', '[]', '{}', '\u202e\u200b', '🦊'),
  },
  // Very long: past the request-line limit now and then (Node answers 431 itself).
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 20_000 }).map((length) => 'ÿ'.repeat(length)) },
);

/** Percent-garbage that goes into the URL unencoded: `%ZZ`, `%ED%A0%80` (a UTF-8 surrogate), `%00`, `+`, `=`. */
const rawText = fc.string({ unit: fc.constantFrom('%', '%', '0', '0', 'F', 'E', 'D', '8', 'A', 'Z', '+', '=', '/', '?', ';', 'a', ':'), maxLength: 24 });

const value: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: text.map((t) => ({ encoding: 'utf8' as const, text: t })) },
  { weight: 1, arbitrary: rawText.map((t) => ({ encoding: 'raw' as const, text: t })) },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('append' as const), char: fc.string({ minLength: 1, maxLength: 1 }) }),
  fc.constant({ op: 'drop-last' as const }),
  fc.record({ op: fc.constant('flip-case' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), char: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
  fc.record({ op: fc.constant('prefix' as const), char: fc.string({ minLength: 1, maxLength: 1 }) }),
);

const attemptRef: fc.Arbitrary<AttemptRef> = fc.oneof(
  fc.constant({ kind: 'legit' as const }),
  fc.integer({ min: 0, max: DECOY_ATTEMPTS - 1 }).map((index) => ({ kind: 'decoy' as const, index })),
  fc.constant({ kind: 'fresh' as const }),
);

const stateChoice: fc.Arbitrary<StateChoice> = fc.oneof(
  fc.constant({ kind: 'absent' as const }),
  value.map((v) => ({ kind: 'random' as const, value: v })),
  mutation.map((m) => ({ kind: 'legit-mutated' as const, mutation: m })),
  { weight: 3, arbitrary: attemptRef.map((attempt) => ({ kind: 'genuine' as const, attempt })) },
);

const cookieChoice: fc.Arbitrary<CookieChoice> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  { weight: 3, arbitrary: attemptRef.map((attempt) => ({ kind: 'of' as const, attempt })) },
  fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)).map((v) => ({ kind: 'forged' as const, value: v })),
  fc.string({ minLength: 1, maxLength: 200 }).map((header) => ({ kind: 'garbage' as const, header })),
);

const sameAttempt = (a: AttemptRef, b: AttemptRef) => a.kind === b.kind && (a.kind !== 'decoy' || (b.kind === 'decoy' && a.index === b.index));

/** The genuine article: a fresh attempt's own state and own cookie, on its own deployment. */
const isGenuine = (c: Pick<FuzzCase, 'deployment' | 'state' | 'cookie'>) =>
  c.deployment.kind === 'own' && c.state.kind === 'genuine' && c.state.attempt.kind === 'fresh' && c.cookie.kind === 'of' && c.cookie.attempt.kind === 'fresh';

const anyCase = fc
  .record({
    deployment: fc.oneof(
      { weight: 8, arbitrary: fc.constant({ kind: 'own' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'other' as const }) },
      {
        weight: 1,
        arbitrary: fc
          .oneof(value, fc.constantFrom('%00', 'pde_x%00y', '%2e%2e', '%2F', '%ED%A0%80', '%', `pde_${'A'.repeat(300)}`).map((text) => ({ encoding: 'raw' as const, text })))
          .map((segment) => ({ kind: 'garbage' as const, segment })),
      },
    ),
    state: stateChoice,
    cookie: cookieChoice,
    code: fc.oneof(
      fc.constant({ kind: 'absent' as const }),
      { weight: 3, arbitrary: value.map((v) => ({ kind: 'value' as const, value: v })) },
      { weight: 2, arbitrary: fc.constant({ kind: 'legit' as const }) },
    ),
    iss: fc.oneof(
      fc.constant({ kind: 'absent' as const }),
      { weight: 3, arbitrary: fc.constant({ kind: 'right' as const }) },
      value.map((v) => ({ kind: 'wrong' as const, value: v })),
    ),
    error: fc.option(fc.oneof(fc.constantFrom('access_denied', 'invalid_request', 'server_error', 'temporarily_unavailable').map((t) => ({ encoding: 'utf8' as const, text: t })), value), { freq: 3 }),
    errorDescription: fc.option(value, { freq: 2 }),
    duplicates: fc.array(
      fc.record({
        name: fc.constantFrom('state' as const, 'code' as const, 'iss' as const, 'error' as const),
        value: fc.oneof(value, fc.constant('legit-code' as const)),
      }),
      { maxLength: 2 },
    ),
    extras: fc.array(fc.record({ name: value, value }), { maxLength: 3 }),
    order: fc.shuffledSubarray(['state', 'code', 'iss', 'error', 'error_description'] as Array<'state' | 'code' | 'iss' | 'error' | 'error_description'>, {
      minLength: 5,
      maxLength: 5,
    }),
  })
  .map(({ error, errorDescription, ...rest }): FuzzCase => ({ ...rest, ...(error === null ? {} : { error }), ...(errorDescription === null ? {} : { errorDescription }) }));

/** A fresh attempt's own state and cookie on its own deployment; everything else as generated. */
const genuineCase = anyCase.map(
  (c): FuzzCase => ({ ...c, deployment: { kind: 'own' }, state: { kind: 'genuine', attempt: { kind: 'fresh' } }, cookie: { kind: 'of', attempt: { kind: 'fresh' } } }),
);

/**
 * Two runs in five are genuine: those are the callbacks that may reach the token endpoint, so they
 * must be common. Half of them are well-formed apart from a fuzzed code, so the exchange really happens.
 */
const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .oneof(
    { weight: 3, arbitrary: anyCase },
    { weight: 1, arbitrary: genuineCase },
    {
      weight: 1,
      arbitrary: fc.tuple(genuineCase, value).map(([c, code]): FuzzCase => {
        const { error: _error, errorDescription: _description, ...rest } = c;
        return { ...rest, code: { kind: 'value', value: code }, iss: { kind: 'right' }, duplicates: [], extras: [] };
      }),
    },
  )
  // The real user's attempts (the captured one and the decoys) are never presented with their own
  // state and their own cookie: that is the one input that may consume them, and they must survive.
  .filter((c) => !(c.state.kind === 'genuine' && c.state.attempt.kind !== 'fresh' && c.cookie.kind === 'of' && sameAttempt(c.state.attempt, c.cookie.attempt)))
  // The browser's real code is kept for the non-genuine callbacks, where it must never travel.
  .filter((c) => !(isGenuine(c) && (c.code.kind === 'legit' || c.duplicates.some((duplicate) => duplicate.value === 'legit-code'))));

// --- turning a case into a request ---------------------------------------------------------------------

/** Percent-encodes every byte of the UTF-8 form except RFC 3986 unreserved characters. */
function percentEncode(textValue: string): string {
  let out = '';
  for (const byte of Buffer.from(textValue, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
const encode = (v: Value) => (v.encoding === 'raw' ? v.text : percentEncode(v.text));

function mutate(state: string, m: Mutation): string {
  switch (m.op) {
    case 'append':
      return state + m.char;
    case 'drop-last':
      return state.slice(0, -1);
    case 'prefix':
      return m.char + state;
    case 'flip-case': {
      const at = m.at % state.length;
      const char = state[at]!;
      const flipped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
      // Digits, '-' and '_' have no case: change them to something else instead.
      return state.slice(0, at) + (flipped === char ? (char === 'x' ? 'y' : 'x') : flipped) + state.slice(at + 1);
    }
    case 'replace': {
      const at = m.at % state.length;
      const char = m.char === state[at] ? (m.char === 'x' ? 'y' : 'x') : m.char;
      return state.slice(0, at) + char + state.slice(at + 1);
    }
  }
}

interface Attempt {
  setupSessionId: string;
  state: string;
  /** `gatehouse_oauth_<setup session id>=<binding>` */
  cookieHeader: string;
}

describe('OAuth callback under fuzzed input', () => {
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;
  let fixture: OAuthFixture;
  let otherFixture: OAuthFixture;
  let legit: Attempt & { callbackUrl: string; code: string; closeBrowser(): Promise<void> };
  const decoys: Attempt[] = [];
  /** Every code that reached the upstream's token endpoint, in order. */
  const exchangedCodes: string[] = [];

  const newAttempt = async (f: OAuthFixture): Promise<Attempt> => {
    const session = await gatehouse.providers.setupSessions.create({ providerId: f.providerId, providerAuthMethodId: 'oauth' });
    const attempt = await startAttemptOverHttp(session.url);
    return { setupSessionId: session.id, state: attempt.state, cookieHeader: attempt.cookieHeader };
  };
  const authConfigCount = async () => (await gatehouse.providers.authConfigs.list({ limit: 100 })).data.length;
  const statusOf = async (setupSessionId: string) => (await gatehouse.providers.setupSessions.get(setupSessionId)).status;

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [] });
    upstream.setResponseOverride((observed) => {
      if (observed.grantType === 'authorization_code') exchangedCodes.push(observed.params.code ?? '');
      return undefined;
    });
    server = await startInProcessGatehouse();
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    fixture = await createOAuthFixture(gatehouse, upstream, 'fuzzed');
    otherFixture = await createOAuthFixture(gatehouse, upstream, 'fuzzed-other');
    browser = await launchBrowser();

    const session = await gatehouse.providers.setupSessions.create({ providerId: fixture.providerId, providerAuthMethodId: 'oauth' });
    const captured = await captureCallback(browser, session.url, fixture.callbackUrl, 'fuzz-user');
    const params = new URL(captured.callbackUrl).searchParams;
    legit = {
      setupSessionId: session.id,
      state: params.get('state')!,
      code: params.get('code')!,
      cookieHeader: captured.cookieHeader,
      callbackUrl: captured.callbackUrl,
      closeBrowser: () => captured.context.close(),
    };
    expect(legit.code).toBeTruthy();
    for (let index = 0; index < DECOY_ATTEMPTS; index++) decoys.push(await newAttempt(fixture));
  });

  afterAll(async () => {
    await legit?.closeBrowser();
    await browser?.close();
    await server?.close();
    await upstream?.close();
  });

  /** Builds the URL and Cookie header of a case; says whether it is the genuine article (fresh state + its cookie). */
  async function materialize(c: FuzzCase): Promise<{ url: string; cookie: string | undefined; genuine: boolean; fresh?: Attempt; codes: string[] }> {
    const usesFresh = (c.state.kind === 'genuine' && c.state.attempt.kind === 'fresh') || (c.cookie.kind === 'of' && c.cookie.attempt.kind === 'fresh');
    const fresh = usesFresh ? await newAttempt(fixture) : undefined;
    const attemptOf = (ref: AttemptRef): Attempt => (ref.kind === 'legit' ? legit : ref.kind === 'decoy' ? decoys[ref.index]! : fresh!);

    const params: Array<[string, string]> = [];
    for (const name of c.order) {
      if (name === 'state') {
        if (c.state.kind === 'random') params.push(['state', encode(c.state.value)]);
        else if (c.state.kind === 'legit-mutated') params.push(['state', percentEncode(mutate(legit.state, c.state.mutation))]);
        else if (c.state.kind === 'genuine') params.push(['state', attemptOf(c.state.attempt).state]);
      } else if (name === 'code') {
        if (c.code.kind === 'legit') params.push(['code', legit.code]);
        else if (c.code.kind === 'value') params.push(['code', encode(c.code.value)]);
      } else if (name === 'iss') {
        if (c.iss.kind === 'right') params.push(['iss', percentEncode(upstream.issuer)]);
        else if (c.iss.kind === 'wrong') params.push(['iss', encode(c.iss.value)]);
      } else if (name === 'error' && c.error) {
        params.push(['error', encode(c.error)]);
      } else if (name === 'error_description' && c.errorDescription) {
        params.push(['error_description', encode(c.errorDescription)]);
      }
    }
    for (const duplicate of c.duplicates) params.push([duplicate.name, duplicate.value === 'legit-code' ? legit.code : encode(duplicate.value)]);
    for (const extra of c.extras) params.push([encode(extra.name), encode(extra.value)]);

    const segment =
      c.deployment.kind === 'own' ? fixture.deploymentId : c.deployment.kind === 'other' ? otherFixture.deploymentId : encode(c.deployment.segment);
    const url = `${server.url}/oauth/callback/${segment}?${params.map(([name, v]) => `${name}=${v}`).join('&')}`;

    let cookie: string | undefined;
    const stateSession = c.state.kind === 'genuine' ? attemptOf(c.state.attempt).setupSessionId : legit.setupSessionId;
    if (c.cookie.kind === 'of') cookie = attemptOf(c.cookie.attempt).cookieHeader;
    else if (c.cookie.kind === 'forged') cookie = `gatehouse_oauth_${stateSession}=${c.cookie.value}`;
    else if (c.cookie.kind === 'garbage') cookie = c.cookie.header;

    // The codes as the server will read them (same WHATWG parser).
    const codes = new URL(url).searchParams.getAll('code');
    return { url, cookie, genuine: isGenuine(c), ...(fresh ? { fresh } : {}), codes };
  }

  it('never answers 5xx, never creates an auth config, and sends no code to the token endpoint without the genuine state and cookie', async () => {
    expect(await authConfigCount()).toBe(0);
    let genuineRuns = 0;
    let genuineExchanges = 0;
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const tokenRequestsBefore = upstream.tokenRequests().length;
        const codesBefore = exchangedCodes.length;
        const request = await materialize(c);

        const response = await fetch(request.url, { redirect: 'manual', headers: request.cookie === undefined ? {} : { cookie: request.cookie } });
        const body = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);

        const context = `${response.status} for ${request.url.slice(0, 300)} (cookie: ${request.cookie?.slice(0, 100) ?? 'none'})`;
        expect(response.status, context).toBeLessThan(500);
        expect(body, context).not.toContain(legit.state);
        expect(body, context).not.toContain(legit.code);

        const sentCodes = exchangedCodes.slice(codesBefore);
        const tokenRequests = upstream.tokenRequests().length - tokenRequestsBefore;
        if (request.genuine) {
          genuineRuns++;
          genuineExchanges += tokenRequests;
          expect(tokenRequests, context).toBeLessThanOrEqual(1);
          // The only code that may travel is the one this very callback carried.
          for (const code of sentCodes) expect(request.codes, context).toEqual([code]);
          expect(await statusOf(request.fresh!.setupSessionId), context).not.toBe('completed');
        } else {
          expect(tokenRequests, context).toBe(0);
          expect(sentCodes, context).toEqual([]);
        }
        expect(await authConfigCount(), context).toBe(0);
      }),
      // A failing run leaves server state behind, which would mislead shrinking: report the first failure as it is.
      { numRuns: NUM_RUNS, endOnFailure: true },
    );

    // The generators reached the interesting corners, not just the generic refusal.
    expect(genuineRuns).toBeGreaterThan(5);
    expect(genuineExchanges).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(NUM_RUNS / 4);
    expect(exchangedCodes).not.toContain(legit.code);

    // No fuzzed callback burned a pending attempt it did not own.
    expect(await statusOf(legit.setupSessionId)).toBe('pending');
    for (const decoy of decoys) expect(await statusOf(decoy.setupSessionId)).toBe('pending');
  });

  it('still completes the one legitimate callback afterwards: one token exchange with the real code, one auth config', async () => {
    const tokenRequestsBefore = upstream.tokenRequests().length;
    const codesBefore = exchangedCodes.length;

    const response = await fetch(legit.callbackUrl, { redirect: 'manual', headers: { cookie: legit.cookieHeader } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/connected to Acme Cloud/i);

    expect(upstream.tokenRequests().length - tokenRequestsBefore).toBe(1);
    expect(exchangedCodes.slice(codesBefore)).toEqual([legit.code]);
    const completed = await gatehouse.providers.setupSessions.get(legit.setupSessionId);
    expect(completed.status).toBe('completed');
    const configs = await gatehouse.providers.authConfigs.list({ limit: 100 });
    expect(configs.data.map((config) => config.id)).toEqual([completed.authConfig!.id]);
    expect(configs.data[0]!.status).toBe('active');
  });
});
