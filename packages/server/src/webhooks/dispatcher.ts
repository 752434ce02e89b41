import { and, asc, eq, inArray, lte, min } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Database } from '../store/database.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../store/schema.js';
import { openWebhookSecret, type WebhookDeliveryRow } from '../services/webhooks.js';
import { signWebhook, type WebhookSignatureHeaders } from './signature.js';

/** Tuning of a {@link WebhookDispatcher}; every field has a production default. */
export interface WebhookDispatcherOptions {
  /**
   * Scales the retry schedule: after the n-th failed attempt the next one waits
   * `retryBaseMs × [1, 6, 24, 120, 720, 1440, 2880][n-1]` (±10 % jitter), i.e. with the default 5000:
   * 5 s, 30 s, 2 min, 10 min, 1 h, 2 h, 4 h.
   */
  retryBaseMs?: number | undefined;
  /**
   * Longest sleep between two looks at the outbox, for work this process was not told about (a delivery
   * whose lease another process let lapse, an endpoint enabled again). Default `min(retryBaseMs, 5000)`.
   */
  pollIntervalMs?: number | undefined;
  /** Timeout of one POST (default 10 000 ms). */
  requestTimeoutMs?: number | undefined;
  /** Attempts before a delivery is given up as `failed` (default 8). */
  maxAttempts?: number | undefined;
  /** Deliveries in flight at once in this process (default 8). */
  concurrency?: number | undefined;
  /**
   * How long a claimed delivery is hidden from other processes (default: the request timeout + 20 s). A
   * process that dies mid-delivery leaves it to be retried after this.
   */
  leaseMs?: number | undefined;
}

const RETRY_MULTIPLIERS = [1, 6, 24, 120, 720, 1440, 2880];
/** A receiver's `Retry-After` is honoured up to this long. */
const MAX_RETRY_AFTER_MS = 3600_000;
/** The shortest timer, so rows locked by another process's claim do not make this one spin. */
const MIN_TIMER_MS = 20;

type Outcome =
  | { kind: 'delivered'; statusCode: number }
  | { kind: 'failed'; statusCode: number | null; error: string; retryAfterMs?: number | undefined }
  | { kind: 'shutdown' };

/**
 * Delivers webhook events from the durable outbox (`webhook_deliveries`), in any number of processes.
 *
 * A delivery is claimed in a short transaction (`SELECT … FOR UPDATE SKIP LOCKED`) that moves its
 * `next_attempt_at` forward by a lease, so no other process takes it while it is posted; the POST happens
 * outside the transaction, and its outcome is written back only if the lease is still this process's.
 * Failures are retried with exponential backoff and jitter, up to `maxAttempts`. The dispatcher wakes on
 * the `webhook_delivery_due` notification (any process), when the next retry is due, and every
 * `pollIntervalMs`. On PGlite (one process) the same code runs.
 *
 * Each POST carries the Standard Webhooks headers (`webhook-id` = the event id, the same on every attempt,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`), goes through `context.fetch` (so the outbound
 * SSRF policy applies), does not follow redirects, and succeeds on any 2xx. The response body is never
 * read or stored.
 */
export class WebhookDispatcher {
  private readonly retryBaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;

  private readonly shutdown = new AbortController();
  private readonly inFlight = new Map<string, Promise<void>>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private wakeAgain = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly context: ServerContext,
    options: WebhookDispatcherOptions = {},
  ) {
    this.retryBaseMs = options.retryBaseMs ?? 5_000;
    this.pollIntervalMs = options.pollIntervalMs ?? Math.min(this.retryBaseMs, 5_000);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.concurrency = options.concurrency ?? 8;
    this.leaseMs = options.leaseMs ?? this.requestTimeoutMs + 20_000;
  }

  /** Subscribes to the notifier and delivers whatever is already due (e.g. left over from before a restart). */
  start(): void {
    if (this.closed || this.unsubscribe) return;
    this.unsubscribe = this.context.notifier.subscribe('webhook_delivery_due', () => this.wake());
    this.wake();
  }

  /**
   * Stops claiming, aborts the POSTs in flight and hands their deliveries back (not counted as an
   * attempt), so another process or the next start sends them at once. Resolves when nothing is running.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.unsubscribe?.();
      clearTimeout(this.timer);
      this.shutdown.abort();
      await this.pumping;
      await Promise.allSettled([...this.inFlight.values()]);
    })();
    return this.closing;
  }

  /** Looks for due deliveries now (or right after the look in progress). */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.wakeAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.pumping = this.pump()
      .catch((error: Error) => {
        this.context.logger.warn({ err: error.message }, 'webhook dispatcher could not read the outbox; retrying');
        this.schedule(this.pollIntervalMs);
      })
      .finally(() => {
        this.pumping = undefined;
        if (this.wakeAgain) this.wake();
      });
  }

  private async pump(): Promise<void> {
    for (;;) {
      this.wakeAgain = false;
      const free = this.concurrency - this.inFlight.size;
      if (free <= 0) return; // a finishing delivery wakes the dispatcher
      const claimed = await this.claim(free);
      if (this.closed) {
        await Promise.all(claimed.map((row) => this.release(row)));
        return;
      }
      for (const row of claimed) this.begin(row);
      if (claimed.length < free) break;
    }
    await this.scheduleNext();
  }

  /** Due deliveries of enabled endpoints, leased to this process in one short transaction. */
  private async claim(limit: number): Promise<WebhookDeliveryRow[]> {
    const now = this.context.clock.now();
    const leaseUntil = new Date(now.getTime() + this.leaseMs);
    return this.context.db.transaction(async (transaction) => {
      const tx = transaction as unknown as Database;
      const due = await tx
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now), this.enabledEndpoint(tx)))
        .orderBy(asc(webhookDeliveries.nextAttemptAt))
        .limit(limit)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      return tx
        .update(webhookDeliveries)
        .set({ nextAttemptAt: leaseUntil, updatedAt: now })
        .where(
          inArray(
            webhookDeliveries.id,
            due.map((row) => row.id),
          ),
        )
        .returning();
    });
  }

  private enabledEndpoint(db: Database) {
    return inArray(
      webhookDeliveries.endpointId,
      db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(eq(webhookEndpoints.status, 'enabled')),
    );
  }

  /** Sleeps until the earliest pending delivery is due, at most `pollIntervalMs`. */
  private async scheduleNext(): Promise<void> {
    const [next] = await this.context.db
      .select({ at: min(webhookDeliveries.nextAttemptAt) })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.status, 'pending'), this.enabledEndpoint(this.context.db)));
    let delay = this.pollIntervalMs;
    if (next?.at) delay = Math.min(delay, Math.max(MIN_TIMER_MS, new Date(next.at).getTime() - this.context.clock.now().getTime()));
    this.schedule(delay);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delayMs);
    this.timer.unref();
  }

  private begin(row: WebhookDeliveryRow): void {
    const delivery = this.deliver(row)
      .catch((error: Error) => {
        // The lease runs out and the delivery is tried again (by any process).
        this.context.logger.warn({ deliveryId: row.id, err: error.message }, 'webhook delivery could not be recorded');
      })
      .finally(() => {
        this.inFlight.delete(row.id);
        this.wake();
      });
    this.inFlight.set(row.id, delivery);
  }

  private async deliver(row: WebhookDeliveryRow): Promise<void> {
    const { db } = this.context;
    const [endpoint] = await db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, row.endpointId), eq(webhookEndpoints.projectId, row.projectId)))
      .limit(1);
    const [event] = await db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.id, row.eventId), eq(webhookEvents.projectId, row.projectId)))
      .limit(1);
    if (!endpoint) return; // deleted: its deliveries went with it
    if (!event) {
      await this.record(row, { kind: 'failed', statusCode: null, error: 'event_missing' }, true);
      return;
    }
    if (endpoint.status !== 'enabled') {
      await this.release(row); // waits, pending, until the endpoint is enabled again
      return;
    }
    let secret: string;
    try {
      secret = openWebhookSecret(this.context, endpoint);
    } catch {
      // The key that sealed it is missing from GATEHOUSE_ENCRYPTION_KEYS; retried in case it comes back.
      await this.record(row, { kind: 'failed', statusCode: null, error: 'secret_unavailable' });
      return;
    }
    const body = JSON.stringify(event.payload);
    const headers = signWebhook(secret, event.id, Math.floor(Date.now() / 1000), body);
    const outcome = await this.post(endpoint.url, body, headers);
    if (outcome.kind === 'shutdown') await this.release(row);
    else await this.record(row, outcome);
  }

  private async post(url: string, body: string, headers: WebhookSignatureHeaders): Promise<Outcome> {
    const controller = new AbortController();
    const onShutdown = () => controller.abort();
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.requestTimeoutMs);
    try {
      if (this.shutdown.signal.aborted) return { kind: 'shutdown' };
      const response = await this.context.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Gatehouse-Webhooks/1', ...headers },
        body,
        redirect: 'manual',
        signal: controller.signal,
      });
      // The receiver's answer is not ours to keep: only its status counts.
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return { kind: 'delivered', statusCode: response.status };
      return {
        kind: 'failed',
        statusCode: response.status,
        error: response.status >= 300 && response.status < 400 ? 'redirect_not_followed' : 'http_error',
        retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      };
    } catch (error) {
      if (this.shutdown.signal.aborted && !timedOut) return { kind: 'shutdown' };
      return { kind: 'failed', statusCode: null, error: timedOut ? 'timeout' : errorClass(error) };
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }

  /** Writes an attempt's outcome, if the lease taken by {@link claim} is still ours. */
  private async record(row: WebhookDeliveryRow, outcome: Exclude<Outcome, { kind: 'shutdown' }>, giveUp = false): Promise<void> {
    const now = this.context.clock.now();
    const attempts = row.attempts + 1;
    const delivered = outcome.kind === 'delivered';
    const final = delivered || giveUp || attempts >= this.maxAttempts;
    const values: Partial<typeof webhookDeliveries.$inferInsert> = {
      status: delivered ? 'succeeded' : final ? 'failed' : 'pending',
      attempts,
      nextAttemptAt: final ? now : new Date(now.getTime() + this.retryDelayMs(attempts, outcome)),
      lastAttemptAt: now,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.kind === 'failed' ? outcome.error : null,
      updatedAt: now,
    };
    const updated = await this.context.db
      .update(webhookDeliveries)
      .set(values)
      .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, 'pending'), eq(webhookDeliveries.nextAttemptAt, row.nextAttemptAt)))
      .returning({ id: webhookDeliveries.id });
    const log = { deliveryId: row.id, eventId: row.eventId, endpointId: row.endpointId, attempts, statusCode: outcome.statusCode };
    if (updated.length === 0) this.context.logger.warn(log, 'webhook delivery outcome not recorded: the delivery was deleted or its lease lapsed');
    else if (delivered) this.context.logger.debug(log, 'webhook delivered');
    else if (final) this.context.logger.warn({ ...log, error: values.lastError }, 'webhook delivery failed; giving up');
    else this.context.logger.info({ ...log, error: values.lastError, nextAttemptAt: values.nextAttemptAt }, 'webhook delivery failed; will retry');
  }

  /** Hands a claimed delivery back without counting an attempt. */
  private async release(row: WebhookDeliveryRow): Promise<void> {
    await this.context.db
      .update(webhookDeliveries)
      .set({ nextAttemptAt: this.context.clock.now() })
      .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, 'pending'), eq(webhookDeliveries.nextAttemptAt, row.nextAttemptAt)));
  }

  private retryDelayMs(attempts: number, outcome: Outcome): number {
    const multiplier = RETRY_MULTIPLIERS[Math.min(attempts, RETRY_MULTIPLIERS.length) - 1]!;
    const backoff = this.retryBaseMs * multiplier * (0.9 + Math.random() * 0.2);
    const retryAfter = outcome.kind === 'failed' ? (outcome.retryAfterMs ?? 0) : 0;
    return Math.round(Math.max(backoff, Math.min(retryAfter, MAX_RETRY_AFTER_MS)));
  }
}

/** `Retry-After` in seconds (the HTTP-date form is ignored). */
function retryAfterMs(value: string | null): number | undefined {
  if (!value || !/^\d{1,7}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/** A short, secret-free name for why a request failed: `econnrefused`, `und_err_socket`, … */
function errorClass(error: unknown): string {
  const code = (value: unknown) => {
    const candidate = (value as { code?: unknown } | undefined)?.code;
    return typeof candidate === 'string' && candidate.length > 0 ? candidate : undefined;
  };
  const found = code((error as { cause?: unknown } | undefined)?.cause) ?? code(error);
  if (!found) return 'request_failed';
  return found
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 64);
}
