import type { RequestOptions } from '../../core/http.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { SessionTool } from '../../types.js';

/** The answer of `GET /v1/sessions/:id/tools`. */
interface SessionToolListBody {
  data: SessionTool[];
}

/** `gatehouse.sessions.tools`: the merged tools of a session's providers. */
export class SessionTools extends APIResource {
  /**
   * Lists every tool of the session, across its providers. Tool names are stable and unique within the
   * session (`github__create_issue`); input schemas are returned exactly as the tool servers declared them.
   *
   * @param sessionId - the session (`ses_…`)
   * @param options - per-call options
   *
   * @example
   * ```ts
   * const tools = await gatehouse.sessions.tools.list(session.id);
   * for (const tool of tools) console.log(tool.name, tool.description);
   * ```
   */
  async list(sessionId: string, options?: RequestOptions): Promise<SessionTool[]> {
    const body = await this._client.request<SessionToolListBody>({
      method: 'GET',
      path: `/v1/sessions/${pathSegment(sessionId, 'session')}/tools`,
      options,
    });
    return Array.isArray(body?.data) ? body.data : [];
  }
}
