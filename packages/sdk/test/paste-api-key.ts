/**
 * What an end user does on Gatehouse's hosted API-key page, done with `fetch`: load the form (which
 * sets the CSRF cookie) and post the key with that cookie.
 */
import { expect } from 'vitest';

/** Completes the API-key setup session at `setupSessionUrl` with `apiKey`. */
export async function pasteApiKey(setupSessionUrl: string, apiKey: string): Promise<void> {
  const form = await fetch(setupSessionUrl);
  const cookie = form.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())?.[1];
  expect(csrfToken, 'the hosted page shows the API-key form').toBeDefined();
  const posted = await fetch(`${setupSessionUrl}/api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ api_key: apiKey, csrf_token: csrfToken! }),
    redirect: 'manual',
  });
  expect(posted.status).toBeLessThan(400);
}
