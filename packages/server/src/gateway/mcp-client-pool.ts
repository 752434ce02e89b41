import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from '../logger.js';
import { CappedStdioClientTransport } from './capped-stdio-transport.js';
import type { JsonRpcIdText } from './message-size-guard.js';
import { observedFetch, type ExchangeProblem } from './observed-fetch.js';
import { ToolCallError } from './tool-call-error.js';
import { redactCredentials, type ToolServerTarget } from './tool-server-target.js';

const IDLE_CLOSE_MS = 5 * 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** One live MCP client connection to a tool server, for one set of credentials. */
export interface PooledConnection {
  client: Client;
  /** Problems the transport saw for the tool call with this id, if any. */
  problemOf(toolCallId: string): ExchangeProblem | undefined;
  /** What the tool server said with that problem (a 403's reason), unredacted. */
  detailOf(toolCallId: string): string | undefined;
  /** Registers the abort function of a call in flight, so an HTTP problem can end it at once. */
  track(toolCallId: string, abort: () => void): () => void;
}

interface Entry {
  connection: Promise<PooledConnection>;
  lastUsed: number;
  close(): Promise<void>;
}

/** Options of the pool. */
export interface McpClientPoolOptions {
  logger: Logger;
  fetch: typeof fetch;
  maxResultBytes: number;
  clientVersion: string;
}

/**
 * MCP client connections of this process, one per tool server and set of credentials, opened on
 * first use and shared by every session that needs the same one. A connection that fails is
 * dropped and opened again by the next call; idle ones are closed after a while.
 */
export class McpClientPool {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: McpClientPoolOptions) {
    this.sweeper = setInterval(() => this.closeIdle(), 30_000);
    this.sweeper.unref();
  }

  /** The connection for `target`, connecting if needed. Throws {@link ToolCallError} when it cannot. */
  async acquire(target: ToolServerTarget): Promise<PooledConnection> {
    let entry = this.entries.get(target.key);
    if (!entry) {
      entry = this.open(target);
      this.entries.set(target.key, entry);
    }
    entry.lastUsed = Date.now();
    try {
      return await entry.connection;
    } catch (error) {
      if (this.entries.get(target.key) === entry) this.entries.delete(target.key);
      throw error;
    }
  }

  /**
   * Drops `connection` (after it broke), so the next call opens a fresh one. Does nothing if the pool
   * already holds another connection for the target: one opened since by another call, still good.
   */
  async evict(target: ToolServerTarget, connection: PooledConnection): Promise<void> {
    const entry = this.entries.get(target.key);
    if (!entry || (await entry.connection.catch(() => undefined)) !== connection) return;
    if (this.entries.get(target.key) !== entry) return;
    this.entries.delete(target.key);
    await entry.close().catch(() => {});
  }

  /** Closes every connection (server shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => entry.close().catch(() => {})));
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUsed > IDLE_CLOSE_MS) {
        this.entries.delete(key);
        void entry.close().catch(() => {});
      }
    }
  }

  private open(target: ToolServerTarget): Entry {
    const problems = new Map<string, { problem: ExchangeProblem; detail: string | undefined }>();
    const inFlight = new Map<string, () => void>();
    // JSON-RPC id → tool call, for transports whose answers arrive apart from their request (SSE, stdio).
    const callsByRpcId = new Map<JsonRpcIdText, string>();
    const rpcIdsByCall = new Map<string, JsonRpcIdText>();
    let connectProblem: { problem: ExchangeProblem; detail: string | undefined } | undefined;
    const observe = (toolCallId: string | null, problem: ExchangeProblem, detail?: string) => {
      if (toolCallId === null) {
        connectProblem ??= { problem, detail };
        return;
      }
      if (!problems.has(toolCallId)) problems.set(toolCallId, { problem, detail });
      inFlight.get(toolCallId)?.();
    };
    const hooks: ConnectionHooks = {
      onCall(rpcId, toolCallId) {
        callsByRpcId.set(rpcId, toolCallId);
        rpcIdsByCall.set(toolCallId, rpcId);
      },
      onOversized: (rpcId) => {
        const toolCallId = rpcId === null ? undefined : callsByRpcId.get(rpcId);
        if (toolCallId) observe(toolCallId, 'too_large');
        else this.options.logger.debug({ providerId: target.providerId }, 'dropped an oversized message that answered no call in flight');
      },
      // The legacy SSE stream ended: every call waiting on it has lost its answer, and the connection is useless.
      onLost: () => {
        for (const toolCallId of inFlight.keys()) observe(toolCallId, 'dropped');
        if (this.entries.get(target.key)?.connection === connection) this.entries.delete(target.key);
        void client.close().catch(() => {});
      },
    };
    const client = new Client({ name: 'gatehouse', version: this.options.clientVersion });
    const transport = this.createTransport(target, observe, hooks);
    // Transport errors quote the tool server's answer, which may quote the credentials it was sent.
    client.onerror = (error) =>
      this.options.logger.debug({ providerId: target.providerId, err: redactCredentials(error.message, target) }, 'tool server connection error');
    client.onclose = () => {
      // Called before the client fails the requests in flight: they failed because the connection went.
      for (const toolCallId of inFlight.keys()) if (!problems.has(toolCallId)) problems.set(toolCallId, { problem: 'dropped', detail: undefined });
      if (this.entries.get(target.key)?.connection === connection) this.entries.delete(target.key);
    };

    const connection: Promise<PooledConnection> = client
      .connect(transport, { timeout: CONNECT_TIMEOUT_MS })
      .then(() => ({
        client,
        problemOf: (toolCallId: string) => problems.get(toolCallId)?.problem,
        detailOf: (toolCallId: string) => problems.get(toolCallId)?.detail,
        track(toolCallId: string, abort: () => void) {
          inFlight.set(toolCallId, abort);
          return () => {
            inFlight.delete(toolCallId);
            problems.delete(toolCallId);
            const rpcId = rpcIdsByCall.get(toolCallId);
            rpcIdsByCall.delete(toolCallId);
            if (rpcId !== undefined && callsByRpcId.get(rpcId) === toolCallId) callsByRpcId.delete(rpcId);
          };
        },
      }))
      .catch(async (error: Error) => {
        await client.close().catch(() => {});
        this.options.logger.warn({ providerId: target.providerId, err: redactCredentials(error.message, target) }, 'could not connect to tool server');
        if (connectProblem?.problem === 'unauthorized') {
          throw new ToolCallError(
            'reauthorization_required',
            `The ${target.providerId} tool server refused the user's credentials; the user must authorize again (create a setup session for this auth config).`,
          );
        }
        if (connectProblem?.problem === 'forbidden') throw forbidden(target, connectProblem.detail);
        throw new ToolCallError('tool_server_unavailable', `The ${target.providerId} tool server could not be reached; try again later.`);
      });
    connection.catch(() => {});
    return { connection, lastUsed: Date.now(), close: () => client.close() };
  }

  private createTransport(
    target: ToolServerTarget,
    observe: (toolCallId: string | null, problem: ExchangeProblem, detail?: string) => void,
    hooks: ConnectionHooks,
  ): Transport {
    const server = target.server;
    if (server.transport === 'stdio') {
      return new CappedStdioClientTransport(
        { command: server.command, args: server.args ?? [], env: { PATH: process.env.PATH ?? '', ...server.env, ...target.env }, stderr: 'ignore' },
        this.options.maxResultBytes,
        hooks,
      );
    }
    const requestInit = { headers: target.headers };
    if (server.transport === 'sse') {
      // Answers come on the GET event stream, not in the POSTs' bodies: it is capped per event and watched.
      const fetchForTarget = observedFetch(this.options.fetch, { maxResponseBytes: this.options.maxResultBytes, observe, eventStream: hooks });
      return new SSEClientTransport(new URL(server.url), {
        requestInit,
        fetch: fetchForTarget,
        // The SSE stream's own GET needs the credentials too.
        eventSourceInit: { fetch: (url, init) => fetchForTarget(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...target.headers } }) },
      });
    }
    const fetchForTarget = observedFetch(this.options.fetch, { maxResponseBytes: this.options.maxResultBytes, observe });
    return new StreamableHTTPClientTransport(new URL(server.url), { requestInit, fetch: fetchForTarget });
  }
}

/** What a connection's transport reports about calls whose answers arrive apart from their request. */
interface ConnectionHooks {
  onCall(rpcId: JsonRpcIdText, toolCallId: string): void;
  onOversized(rpcId: JsonRpcIdText | null): void;
  onLost(): void;
}

/**
 * A tool server's 403: a refusal of this request (a missing scope, a rate limit, a policy), not of the
 * token, so no refresh. The message quotes the server's reason, without `target`'s credentials.
 */
export function forbidden(target: ToolServerTarget, detail: string | undefined): ToolCallError {
  const reason = detail ? redactCredentials(detail, target).slice(0, 300) : '';
  return new ToolCallError(
    'tool_forbidden',
    `The ${target.providerId} tool server refused this request (HTTP 403${reason ? `: ${reason}` : ''}); ` +
      "the user's authorization may lack a permission (scope) this tool needs, or the server limits such calls.",
  );
}
