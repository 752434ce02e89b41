import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ServerContext } from '../context.js';
import { newId } from '../ids.js';
import type { SessionRow } from '../services/sessions.js';
import { preview, recordToolCall, type ToolCallRow } from '../services/tool-calls.js';
import type { SessionProviderRef } from '../store/schema.js';
import { forbidden, McpClientPool, type PooledConnection } from './mcp-client-pool.js';
import { TOOL_CALL_META_KEY, type ExchangeProblem } from './observed-fetch.js';
import { ToolCallError, type ToolCallErrorCode } from './tool-call-error.js';
import { exposedToolNames, namespacePrefixes, prefixOf } from './tool-names.js';
import { refreshAuthConfig } from '../oauth/refresh.js';
import { redactCredentials, resolveToolServerTarget, type ToolServerTarget } from './tool-server-target.js';
import { TtlCache } from './ttl-cache.js';

const TOOL_LIST_TTL_MS = 5 * 60_000;
/**
 * How long a resolved tool server target (deployment, provider, the user's decrypted credentials) is
 * reused without reading the database again. Changes made in this process evict at once (see
 * {@link ToolGateway.forget}); a change made by another process (an auth config deleted there, say)
 * is seen within this time. A refused token is refreshed and re-read at once regardless.
 */
const TARGET_TTL_MS = 2_000;
const MAX_CACHED_TARGETS = 10_000;
const CONNECT_ATTEMPTS = 3;

/** A tool of a session, under its stable session-wide name. */
export interface SessionTool {
  name: string;
  description: string | undefined;
  inputSchema: Tool['inputSchema'];
  annotations: Tool['annotations'] | undefined;
  providerId: string;
  deploymentId: string;
  originalName: string;
}

/** A provider whose tools could not be listed right now. */
export interface UnavailableProvider {
  providerId: string;
  deploymentId: string;
  error: { code: ToolCallErrorCode; message: string };
}

/** The outcome of one call, as recorded and returned. */
export interface ToolCallOutcome {
  record: ToolCallRow;
  result: CallToolResult | null;
}

/** Limits of the gateway. */
export interface ToolGatewayOptions {
  toolCallTimeoutMs: number;
  maxResultBytes: number;
  clientVersion: string;
}

/**
 * Runs the tools of a session's providers for its user. Connections are pooled per process and made
 * lazily, in parallel; tool lists are cached; everything about a session lives in the database, so
 * any process can serve any session's call.
 */
export class ToolGateway {
  private readonly pool: McpClientPool;
  private readonly toolLists = new Map<string, { tools: Tool[]; fetchedAt: number }>();
  private readonly targets = new TtlCache<ToolServerTarget>(TARGET_TTL_MS, MAX_CACHED_TARGETS);

  constructor(
    private readonly context: ServerContext,
    private readonly options: ToolGatewayOptions,
  ) {
    this.pool = new McpClientPool({
      logger: context.logger,
      fetch: context.fetch,
      maxResultBytes: options.maxResultBytes,
      clientVersion: options.clientVersion,
    });
  }

  /** Every tool of the session; providers that cannot be reached are reported, not fatal. */
  async listTools(session: SessionRow): Promise<{ tools: SessionTool[]; unavailable: UnavailableProvider[] }> {
    const prefixes = namespacePrefixes(session.providers);
    const results = await Promise.all(
      session.providers.map(async (ref) => {
        let target: ToolServerTarget | undefined;
        try {
          target = await this.target(session.projectId, ref);
          const tools = await this.withOneRefresh(session, ref, target, (current) => this.providerTools(current, ref, prefixes.get(ref.deploymentId)!));
          return { ref, tools };
        } catch (error) {
          const failure = asToolCallError(error, target);
          return { ref, error: { code: failure.code, message: failure.message } };
        }
      }),
    );
    return {
      tools: results.flatMap((result) => result.tools ?? []),
      unavailable: results
        .filter((result) => result.error)
        .map((result) => ({ providerId: result.ref.providerId, deploymentId: result.ref.deploymentId, error: result.error! })),
    };
  }

  /**
   * Calls one tool by its session-wide name. Never throws for a tool problem: the outcome is a
   * recorded call with `is_error` and an error code, so the agent loop goes on.
   */
  async callTool(session: SessionRow, toolName: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolCallOutcome> {
    const toolCallId = newId('toolCall');
    const started = performance.now();
    const prefixes = namespacePrefixes(session.providers);
    // A prefix never contains `__` and never ends in `_`, so a name's first `__` ends it; the tool itself
    // is then found by its exact exposed name in that provider's list (tool-names.ts).
    const namePrefix = prefixOf(toolName);
    const ref = session.providers.find((candidate) => prefixes.get(candidate.deploymentId) === namePrefix);
    let originalName: string | null = null;
    let result: CallToolResult | null = null;
    let failure: ToolCallError | null = null;
    let target: ToolServerTarget | undefined;
    try {
      if (!ref) throw new ToolCallError('unknown_tool', `This session has no tool named "${toolName}".`);
      target = await this.target(session.projectId, ref);
      let attempt = 0;
      result = await this.withOneRefresh(session, ref, target, async (current) => {
        const tools = await this.providerTools(current, ref, prefixes.get(ref.deploymentId)!);
        const tool = tools.find((candidate) => candidate.name === toolName);
        if (!tool) throw new ToolCallError('unknown_tool', `This session has no tool named "${toolName}".`);
        originalName = tool.originalName;
        return this.invoke(current, tool.originalName, args, attempt++ === 0 ? toolCallId : `${toolCallId}_retry`, signal);
      });
    } catch (error) {
      failure = asToolCallError(error, target);
      if (failure.code === 'tool_server_error' || failure.code === 'tool_server_unavailable') {
        this.context.logger.warn({ sessionId: session.id, toolName, code: failure.code }, 'tool call failed');
      }
    }
    const record = await recordToolCall(this.context, {
      id: toolCallId,
      projectId: session.projectId,
      sessionId: session.id,
      toolName,
      providerId: ref?.providerId ?? null,
      deploymentId: ref?.deploymentId ?? null,
      originalName,
      status: failure ? 'failed' : 'succeeded',
      isError: failure !== null || result?.isError === true,
      errorCode: failure?.code ?? null,
      errorMessage: failure?.message ?? null,
      argumentsPreview: preview(args),
      resultPreview: result ? preview(result.content) : null,
      durationMs: Math.round(performance.now() - started),
    });
    return { record, result };
  }

  /**
   * Runs `work` (list tools, call a tool) against the tool server; if the tool server refuses an
   * OAuth token, refreshes it once (single-flight) and runs `work` again with the new credentials.
   * The refused request never reached the tool, so the retry cannot repeat an action.
   */
  private async withOneRefresh<T>(
    session: SessionRow,
    ref: SessionProviderRef,
    target: ToolServerTarget,
    work: (target: ToolServerTarget) => Promise<T>,
  ): Promise<T> {
    try {
      return await work(target);
    } catch (error) {
      if (!(error instanceof ToolCallError) || error.code !== 'reauthorization_required' || !target.refreshable) throw error;
      const outcome = await refreshAuthConfig(this.context, session.projectId, target.authConfigId!, target.authConfigVersion!, true);
      if (outcome.kind === 'unavailable') {
        throw new ToolCallError('token_refresh_failed', `The ${target.providerId} token was refused and could not be refreshed right now (${outcome.errorCode}); try again shortly.`);
      }
      if (outcome.kind !== 'refreshed' && outcome.kind !== 'already_refreshed') {
        throw new ToolCallError(
          'reauthorization_required',
          `The user's authorization for ${target.providerId} is no longer valid (auth config ${target.authConfigId}); ` +
            'create a setup session with this provider_auth_config_id so the user can authorize again.',
        );
      }
      return work(await this.target(session.projectId, ref, true));
    }
  }

  /**
   * The tool server and credentials of one session provider, from the cache while they are fresh
   * and not due for a refresh. `reload` reads them again (after a refresh).
   */
  private async target(projectId: string, ref: SessionProviderRef, reload = false): Promise<ToolServerTarget> {
    const key = targetKey(projectId, ref.deploymentId, ref.authConfigId);
    const cached = reload ? undefined : this.targets.peek(key);
    if (cached && !cached.refreshDue(this.context.clock.now())) return cached;
    if (cached || reload) this.targets.delete(key);
    return this.targets.get(key, () => resolveToolServerTarget(this.context, projectId, ref));
  }

  /**
   * Forgets what this process cached about a deployment, an auth config or a project (by id): called
   * by whatever changes or deletes one, so the next call reads it again.
   */
  forget(id: string): void {
    this.targets.deleteMatching(`|${id}|`);
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    await this.pool.closeAll();
  }

  private async providerTools(target: ToolServerTarget, ref: SessionProviderRef, prefix: string): Promise<SessionTool[]> {
    // Per user, not per token: a refreshed token does not change what the user's tools are.
    // (Deployment ids are unique across projects.)
    const listKey = `${target.deploymentId}|${target.authConfigId ?? ''}`;
    let cached = this.toolLists.get(listKey);
    if (!cached || Date.now() - cached.fetchedAt > TOOL_LIST_TTL_MS) {
      const tools = await this.withConnection(target, async (connection) => {
        const listed: Tool[] = [];
        let cursor: string | undefined;
        try {
          do {
            const page = await connection.client.listTools(cursor ? { cursor } : undefined, { timeout: this.options.toolCallTimeoutMs });
            listed.push(...page.tools);
            cursor = page.nextCursor;
          } while (cursor && listed.length < 1000);
        } catch (error) {
          throw describeListFailure(target, error);
        }
        return listed;
      });
      cached = { tools, fetchedAt: Date.now() };
      this.toolLists.set(listKey, cached);
    }
    const names = exposedToolNames(prefix, cached.tools.map((tool) => tool.name));
    return cached.tools.map((tool) => ({
      name: names.get(tool.name)!,
      description: tool.description,
      inputSchema: tool.inputSchema,
      annotations: tool.annotations,
      providerId: ref.providerId,
      deploymentId: ref.deploymentId,
      originalName: tool.name,
    }));
  }

  /**
   * Opens (or reuses) the connection and runs `work` on it. Connecting is retried with backoff: the
   * tool server has seen nothing yet. A failure of `work` itself drops the connection but is not
   * retried, since the server may have acted on the call.
   */
  private async withConnection<T>(target: ToolServerTarget, work: (connection: PooledConnection) => Promise<T>): Promise<T> {
    let connection: PooledConnection | undefined;
    for (let attempt = 1; !connection; attempt++) {
      try {
        connection = await this.pool.acquire(target);
      } catch (error) {
        const failure = asToolCallError(error, target);
        if (failure.code !== 'tool_server_unavailable' || attempt >= CONNECT_ATTEMPTS) throw failure;
        await new Promise((resolve) => setTimeout(resolve, 100 * 3 ** (attempt - 1)));
      }
    }
    try {
      return await work(connection);
    } catch (error) {
      // Only a broken connection is dropped. A refused token, a timeout, an oversized result or a
      // tool's own error concern one request: closing the shared connection for them would fail
      // every other call in flight on it.
      if (!(error instanceof ToolCallError) || error.code === 'tool_server_unavailable') await this.pool.evict(target, connection);
      throw error;
    }
  }

  private async invoke(
    target: ToolServerTarget,
    originalName: string,
    args: Record<string, unknown>,
    toolCallId: string,
    signal: AbortSignal | undefined,
  ): Promise<CallToolResult> {
    return this.withConnection(target, async (connection) => {
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.options.toolCallTimeoutMs);
      const onCallerAbort = () => controller.abort();
      signal?.addEventListener('abort', onCallerAbort, { once: true });
      const untrack = connection.track(toolCallId, () => controller.abort());
      try {
        // Aborting makes the MCP client send notifications/cancelled to the tool server.
        const result = (await connection.client.callTool(
          { name: originalName, arguments: args, _meta: { [TOOL_CALL_META_KEY]: toolCallId } },
          undefined,
          { signal: controller.signal, timeout: this.options.toolCallTimeoutMs + 5_000 },
        )) as CallToolResult;
        // Bytes, not UTF-16 units: the cap is what the result weighs on the wire and in memory.
        if (Buffer.byteLength(JSON.stringify(result)) > this.options.maxResultBytes) throw tooLarge(this.options.maxResultBytes);
        return result;
      } catch (error) {
        if (error instanceof ToolCallError) throw error;
        throw describeCallFailure(connection.problemOf(toolCallId), timedOut, signal?.aborted === true, target, this.options, error, connection.detailOf(toolCallId));
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCallerAbort);
        untrack();
      }
    });
  }
}

function targetKey(projectId: string, deploymentId: string, authConfigId: string | null): string {
  return `|${projectId}|${deploymentId}|${authConfigId ?? ''}|`;
}

function tooLarge(maxBytes: number): ToolCallError {
  return new ToolCallError('tool_result_too_large', `The tool's result is larger than ${Math.round(maxBytes / 1024)} KiB and was dropped.`);
}

function describeCallFailure(
  problem: ExchangeProblem | undefined,
  timedOut: boolean,
  callerAborted: boolean,
  target: ToolServerTarget,
  options: ToolGatewayOptions,
  error: unknown,
  detail?: string,
): ToolCallError {
  const server = `The ${target.providerId} tool server`;
  if (problem === 'too_large') return tooLarge(options.maxResultBytes);
  if (problem === 'unauthorized') {
    return new ToolCallError(
      'reauthorization_required',
      `${server} refused the user's credentials; the user must authorize again (create a setup session for this auth config).`,
    );
  }
  if (problem === 'dropped' || problem === 'unreachable') return new ToolCallError('tool_server_unavailable', `${server} dropped the connection during the call.`);
  if (problem === 'forbidden') return forbidden(target, detail);
  if (problem === 'server_error') return new ToolCallError('tool_server_error', `${server} answered with an error.`);
  if (timedOut) {
    return new ToolCallError('tool_timeout', `${server} did not answer within ${options.toolCallTimeoutMs} ms; the call was cancelled.`);
  }
  if (callerAborted) return new ToolCallError('cancelled', 'The call was cancelled by the caller; the tool server was told to stop.');
  // The message may quote the tool server's answer, which may quote the credentials it was sent.
  const message = redactCredentials(error instanceof Error ? error.message : String(error), target);
  if (/closed|terminated|ECONN|fetch failed|socket/i.test(message)) {
    return new ToolCallError('tool_server_unavailable', `${server} dropped the connection during the call.`);
  }
  return new ToolCallError('tool_server_error', `${server} failed the call (${message.slice(0, 200)}).`);
}

/** A failed `tools/list`: a refused token asks for a refresh (or re-authorization), like a refused call. */
function describeListFailure(target: ToolServerTarget, error: unknown): ToolCallError {
  if (error instanceof ToolCallError) return error;
  const status = (error as { code?: unknown }).code;
  if (status === 403) return forbidden(target, error instanceof Error ? error.message : undefined);
  if (status === 401) {
    return new ToolCallError(
      'reauthorization_required',
      `The ${target.providerId} tool server refused the user's credentials; the user must authorize again (create a setup session for this auth config).`,
    );
  }
  const message = redactCredentials(error instanceof Error ? error.message : String(error), target);
  if (/closed|terminated|ECONN|fetch failed|socket/i.test(message)) {
    return new ToolCallError('tool_server_unavailable', `The ${target.providerId} tool server dropped the connection while listing its tools.`);
  }
  return new ToolCallError('tool_server_error', `The ${target.providerId} tool server could not list its tools (${message.slice(0, 200)}).`);
}

/** A failure as a tool error; a raw error's message (which may quote the tool server) loses `target`'s credentials. */
function asToolCallError(error: unknown, target: ToolServerTarget | undefined): ToolCallError {
  if (error instanceof ToolCallError) return error;
  if (!(error instanceof Error)) return new ToolCallError('tool_server_error', 'tool call failed');
  return new ToolCallError('tool_server_error', (target ? redactCredentials(error.message, target) : error.message).slice(0, 300));
}
