/**
 * `@gatehouse/sdk`: the TypeScript client of Gatehouse.
 *
 * @example
 * ```ts
 * import { Gatehouse } from '@gatehouse/sdk';
 *
 * const gatehouse = new Gatehouse({ apiKey: process.env.GATEHOUSE_API_KEY });
 * const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'slack', providerAuthMethodId: 'oauth' });
 * const completed = await gatehouse.waitForSetupSession([setupSession]);
 *
 * await gatehouse.withProviderSession(gatehouseAnthropic, {
 *   providers: [{ providerDeploymentId: 'pde_slack', providerAuthConfigId: completed.authConfig!.id }],
 * }, async (session) => {
 *   // session.tools, session.callTools(toolUseBlocks)
 * });
 * ```
 *
 * @packageDocumentation
 */
export { Gatehouse, Gatehouse as default, type ClientOptions } from './client.js';
export { VERSION } from './version.js';
export {
  GatehouseError,
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  RateLimitError,
  InternalServerError,
  APIUserAbortError,
  APIConnectionError,
  APIConnectionTimeoutError,
  SetupSessionError,
  SetupSessionFailedError,
  SetupSessionExpiredError,
  WaitTimeoutError,
  type ErrorCode,
  type ErrorDetail,
  type WireError,
} from './core/errors.js';
export type { APIRequest, Fetch, HeadersInput, HttpMethod, QueryParams, RequestOptions } from './core/http.js';
export { Page, PagePromise, type CursorPageBody, type CursorPageParams } from './core/pagination.js';
export { APIResource } from './core/resource.js';
export { toWireCase, fromWireCase } from './core/case.js';
export {
  waitForSetupSession,
  DEFAULT_POLL_TIMEOUT_MS,
  type WaitForSetupSessionOptions,
} from './wait-for-setup-session.js';
export { withProviderSession } from './with-provider-session.js';
export type { ProviderSession, ProviderSessionAdapter } from './adapter.js';
export * from './resources/providers/index.js';
export * from './resources/sessions/index.js';
export * from './resources/webhooks/index.js';
export {
  verifyWebhookSignature,
  WebhookVerificationError,
  type VerifyWebhookSignatureParams,
  type WebhookEvent,
  type WebhookEventOf,
  type WebhookHeaders,
  type WebhookVerificationErrorCode,
} from './webhook-verification.js';
export type * from './types.js';
