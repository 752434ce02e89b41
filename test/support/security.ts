/**
 * Helpers of the security suites: the hosted API-key form driven over HTTP, raw API calls that keep
 * every response body, a TCP listener that counts connections (to prove that none was made), and
 * the `gatehouse` CLI.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { GATEHOUSE_BIN } from './gatehouse.js';

/** Loads the hosted API-key form and posts `apiKey` with the form's CSRF token and cookie. */
export async function submitApiKeyForm(setupUrl: string, apiKey: string): Promise<Response> {
  const form = await fetch(setupUrl);
  const cookie = form.headers
    .getSetCookie()
    .map((value) => value.split(';')[0])
    .join('; ');
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrfToken) throw new Error(`no API-key form at ${setupUrl} (HTTP ${form.status})`);
  return fetch(`${setupUrl}/api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ api_key: apiKey, csrf_token: csrfToken }),
    redirect: 'manual',
  });
}

/** One API answer as the test saw it. */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** A minimal client for `/v1` with one key that records every answer (status, headers and body). */
export class RawApi {
  readonly answers: ApiAnswer[] = [];

  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const answer = { status: response.status, headers: response.headers, text, json };
    this.answers.push(answer);
    return answer;
  }

  get = (path: string) => this.request('GET', path);
  post = (path: string, body?: unknown) => this.request('POST', path, body);
}

/** A TCP listener on 127.0.0.1 that answers nothing and counts the connections it accepted. */
export interface CountingListener {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

export async function startCountingListener(): Promise<CountingListener> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Runs `gatehouse <args>` (the built CLI) and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATEHOUSE_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
