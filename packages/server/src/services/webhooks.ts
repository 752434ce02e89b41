import { randomBytes } from 'node:crypto';
import { and, count, eq, getTableColumns } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { invalidRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { OutboundRequestRefusedError } from '../security/outbound-guard.js';
import type { Database } from '../store/database.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../store/schema.js';
import { emitTestWebhookEvent, notifyWebhookDue, type WebhookEventType } from './webhook-events.js';

/** A webhook endpoint row as stored (the signing secret only as ciphertext). */
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

/** A delivery row as stored. */
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

/** A delivery with the type of its event, as the delivery log shows it. */
export type WebhookDeliveryView = WebhookDeliveryRow & { eventType: string | null };

/** Whether an endpoint receives events. */
export type WebhookEndpointStatus = 'enabled' | 'disabled';

/** An endpoint with its signing secret in plaintext: only the answers that create or rotate it. */
export interface WebhookEndpointWithSecret {
  row: WebhookEndpointRow;
  secret: string;
}

/** Most endpoints a project may have (each event fans out to all of them). */
export const MAX_WEBHOOK_ENDPOINTS_PER_PROJECT = 50;

/** AAD of an endpoint's signing secret: binds the ciphertext to its project and endpoint. */
export function webhookSecretAad(projectId: string, endpointId: string): string {
  return `gatehouse:v1:${projectId}:${endpointId}:webhook_secret`;
}

/** A new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64 (the HMAC key). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The endpoint's signing secret in plaintext, for signing deliveries only. */
export function openWebhookSecret(context: Pick<ServerContext, 'keyring'>, row: WebhookEndpointRow): string {
  return context.keyring.open({ keyId: row.secretKeyId, ciphertext: row.secretCiphertext }, webhookSecretAad(row.projectId, row.id));
}

/**
 * An endpoint URL as stored: http(s), no credentials, no fragment, and allowed by the outbound policy
 * (SSRF), the same check as provider URLs: a literal private, loopback or metadata address,
 * `localhost`, or plain http to a host the operator did not allow-list is refused here with a 400
 * naming `url`. No DNS lookup happens here: an answer at creation time proves nothing about the
 * address at delivery time (DNS rebinding), and a name that does not resolve yet is not an error.
 * Names are checked, and pinned, on every delivery by the outbound fetch.
 */
export function normalizeWebhookUrl(context: Pick<ServerContext, 'security'>, value: string): string {
  const fail = (message: string) => invalidRequest(`url ${message}.`, [{ path: 'url', message }]);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail('is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw fail('must be an https URL');
  if (url.username || url.password) throw fail('must not contain a user name or password');
  try {
    context.security.outboundPolicy.checkUrl(url);
  } catch (error) {
    if (!(error instanceof OutboundRequestRefusedError)) throw error;
    // The guard's message names the host and the reason, never the path or query.
    throw fail(`is not allowed: ${error.message.replace(/\.$/, '')}`);
  }
  url.hash = '';
  return url.href;
}

/** Creates an endpoint and its signing secret; the secret is returned this once. */
export async function createWebhookEndpoint(
  context: ServerContext,
  projectId: string,
  input: { url: string; eventTypes?: WebhookEventType[] | undefined },
): Promise<WebhookEndpointWithSecret> {
  const url = normalizeWebhookUrl(context, input.url);
  const [existing] = await context.db.select({ n: count() }).from(webhookEndpoints).where(eq(webhookEndpoints.projectId, projectId));
  if ((existing?.n ?? 0) >= MAX_WEBHOOK_ENDPOINTS_PER_PROJECT) {
    throw invalidRequest(`A project has at most ${MAX_WEBHOOK_ENDPOINTS_PER_PROJECT} webhook endpoints; delete one first.`);
  }
  const id = newId('webhookEndpoint');
  const secret = generateWebhookSecret();
  const sealed = context.keyring.seal(secret, webhookSecretAad(projectId, id));
  const now = context.clock.now();
  const [row] = await context.db
    .insert(webhookEndpoints)
    .values({
      id,
      projectId,
      url,
      eventTypes: [...new Set(input.eventTypes ?? [])],
      secretCiphertext: sealed.ciphertext,
      secretKeyId: sealed.keyId,
      status: 'enabled',
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { row: row!, secret };
}

/** An endpoint of the project, or 404. */
export async function getWebhookEndpoint(context: Pick<ServerContext, 'db'>, projectId: string, id: string): Promise<WebhookEndpointRow> {
  const [row] = await context.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    .limit(1);
  if (!row) throw notFound('webhook endpoint', id);
  return row;
}

/** The project's endpoints, newest first. */
export async function listWebhookEndpoints(context: ServerContext, projectId: string, page: PageRequest): Promise<Page<WebhookEndpointRow>> {
  const rows = await context.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.projectId, projectId), pageCondition(webhookEndpoints, page.cursor)))
    .orderBy(...pageOrder(webhookEndpoints))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}

/**
 * Changes the URL, the event types or the status. A disabled endpoint gets no new deliveries; the ones
 * already pending wait and go out once it is enabled again.
 */
export async function updateWebhookEndpoint(
  context: ServerContext,
  projectId: string,
  id: string,
  changes: { url?: string | undefined; eventTypes?: WebhookEventType[] | undefined; status?: WebhookEndpointStatus | undefined },
): Promise<WebhookEndpointRow> {
  const values: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: context.clock.now() };
  if (changes.url !== undefined) values.url = normalizeWebhookUrl(context, changes.url);
  if (changes.eventTypes !== undefined) values.eventTypes = [...new Set(changes.eventTypes)];
  if (changes.status !== undefined) values.status = changes.status;
  const [row] = await context.db
    .update(webhookEndpoints)
    .set(values)
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    .returning();
  if (!row) throw notFound('webhook endpoint', id);
  if (changes.status === 'enabled') await notifyWebhookDue(context);
  return row;
}

/** Deletes an endpoint with its delivery log; deliveries still pending are dropped. */
export async function deleteWebhookEndpoint(context: ServerContext, projectId: string, id: string): Promise<void> {
  await context.db.transaction(async (tx) => {
    const deleted = await tx
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
      .returning({ id: webhookEndpoints.id });
    if (deleted.length === 0) throw notFound('webhook endpoint', id);
    await tx.delete(webhookDeliveries).where(and(eq(webhookDeliveries.projectId, projectId), eq(webhookDeliveries.endpointId, id)));
  });
}

/**
 * Replaces the signing secret; the new one is returned this once and signs every delivery from now on
 * (including retries of earlier events).
 */
export async function rotateWebhookSecret(context: ServerContext, projectId: string, id: string): Promise<WebhookEndpointWithSecret> {
  const secret = generateWebhookSecret();
  const sealed = context.keyring.seal(secret, webhookSecretAad(projectId, id));
  const [row] = await context.db
    .update(webhookEndpoints)
    .set({ secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId, updatedAt: context.clock.now() })
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    .returning();
  if (!row) throw notFound('webhook endpoint', id);
  return { row, secret };
}

/** An endpoint's delivery log, newest first. */
export async function listWebhookDeliveries(
  context: ServerContext,
  projectId: string,
  endpointId: string,
  filter: { status?: WebhookDeliveryRow['status'] | undefined },
  page: PageRequest,
): Promise<Page<WebhookDeliveryView>> {
  await getWebhookEndpoint(context, projectId, endpointId);
  const rows = await context.db
    .select({ ...getTableColumns(webhookDeliveries), eventType: webhookEvents.type })
    .from(webhookDeliveries)
    .leftJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.projectId, projectId),
        eq(webhookDeliveries.endpointId, endpointId),
        filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
        pageCondition(webhookDeliveries, page.cursor),
      ),
    )
    .orderBy(...pageOrder(webhookDeliveries))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}

/** Queues a `webhook.test` event for one endpoint and wakes the dispatchers; returns its delivery. */
export async function sendTestWebhookEvent(context: ServerContext, projectId: string, endpointId: string): Promise<WebhookDeliveryView> {
  await getWebhookEndpoint(context, projectId, endpointId);
  const { eventId, deliveryId } = await context.db.transaction((tx) =>
    emitTestWebhookEvent(tx as unknown as Database, projectId, endpointId, context.clock.now()),
  );
  await notifyWebhookDue(context, eventId);
  const [row] = await context.db
    .select({ ...getTableColumns(webhookDeliveries), eventType: webhookEvents.type })
    .from(webhookDeliveries)
    .leftJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.id, deliveryId))
    .limit(1);
  return row!;
}
