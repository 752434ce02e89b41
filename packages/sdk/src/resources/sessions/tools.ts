import type { RequestOptions } from '../../core/http.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { SessionTool, ToolCallError } from '../../types.js';

/** A provider of the session whose tools could not be listed just now, and why. */
export interface UnavailableSessionProvider {
  providerId: string;
  providerDeploymentId: string;
  /** Why, e.g. `tool_server_unavailable`, `reauthorization_required`, `token_refresh_failed`. */
  error: ToolCallError;
}

/** What `gatehouse.sessions.tools.list` resolves with. */
export interface SessionToolList {
  /** Every tool of the providers that answered. */
  tools: SessionTool[];
  /**
   * The providers that did not answer (their tool server is down, the user must authorize again, ...):
   * their tools are missing from `tools`. Empty when every provider answered. Tell the user, or the model,
   * rather than letting those tools disappear silently.
   */
  unavailable: UnavailableSessionProvider[];
}

/** The answer of `GET /v1/sessions/:id/tools`. */
interface SessionToolListBody {
  data?: SessionTool[];
  unavailable?: UnavailableSessionProvider[];
}

/** `gatehouse.sessions.tools`: the merged tools of a session's providers. */
export class SessionTools extends APIResource {
  /**
   * Lists every tool of the session, across its providers, and the providers whose tools could not be
   * listed right now. Tool names are stable and unique within the session (`github__create_issue`);
   * input schemas are returned exactly as the tool servers declared them.
   *
   * @param sessionId - the session (`ses_…`)
   * @param options - per-call options
   *
   * @example
   * ```ts
   * const { tools, unavailable } = await gatehouse.sessions.tools.list(session.id);
   * for (const tool of tools) console.log(tool.name, tool.description);
   * for (const provider of unavailable) console.warn(provider.providerId, provider.error.code, provider.error.message);
   * ```
   */
  async list(sessionId: string, options?: RequestOptions): Promise<SessionToolList> {
    const body = await this._client.request<SessionToolListBody>({
      method: 'GET',
      path: `/v1/sessions/${pathSegment(sessionId, 'session')}/tools`,
      options,
    });
    return {
      tools: Array.isArray(body?.data) ? body.data : [],
      unavailable: Array.isArray(body?.unavailable) ? body.unavailable : [],
    };
  }
}
