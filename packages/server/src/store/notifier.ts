import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * Wakes waiters when something they wait for changed. In-process on the embedded store; PostgreSQL
 * LISTEN/NOTIFY with several processes, so a change made by one process wakes a waiter in another.
 */
export interface Notifier {
  /** Tells every subscriber of `channel` (in every process) about `payload`. */
  publish(channel: NotifyChannel, payload: string): Promise<void>;
  /** Calls `listener` for each payload on `channel`; returns the unsubscribe function. */
  subscribe(channel: NotifyChannel, listener: (payload: string) => void): () => void;
  close(): Promise<void>;
}

/**
 * The channels Gatehouse uses; the payload of `setup_session_changed` is the setup session id, that of
 * `webhook_delivery_due` the webhook event id (dispatchers only need to wake up), that of
 * `tool_call_cancelled` the key of an MCP call in flight that its client cancelled (the process
 * running the call aborts it). A subscriber may also receive {@link MAYBE_MISSED}: notifications may
 * have been lost, re-check everything.
 */
export type NotifyChannel = 'setup_session_changed' | 'webhook_delivery_due' | 'tool_call_cancelled';

/**
 * The payload every subscriber gets after the LISTEN connection was lost and is back: NOTIFYs sent
 * while it was down never arrive, so whoever waits on one must look at the database again.
 */
export const MAYBE_MISSED = '*';

/** A notifier for a single process. */
export class InProcessNotifier implements Notifier {
  protected readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: NotifyChannel, payload: string): Promise<void> {
    this.emitter.emit(channel, payload);
  }

  subscribe(channel: NotifyChannel, listener: (payload: string) => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

const CHANNELS: NotifyChannel[] = ['setup_session_changed', 'webhook_delivery_due', 'tool_call_cancelled'];

/**
 * LISTEN/NOTIFY over one dedicated connection, reconnected with backoff if it drops. Publishing goes
 * through the pool; the publishing process receives its own notification like every other one.
 */
export class PostgresNotifier extends InProcessNotifier {
  private listener: pg.Client | undefined;
  private closed = false;
  private reconnectDelayMs = 100;

  constructor(
    private readonly connectionString: string,
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Connects the listening connection; resolves once LISTEN is in place. */
  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', (message) => {
      if (message.payload !== undefined) this.emitter.emit(message.channel, message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'notification connection failed; reconnecting');
      void this.reconnect(client);
    });
    await client.connect();
    for (const channel of CHANNELS) await client.query(`LISTEN ${channel}`);
    this.listener = client;
    this.reconnectDelayMs = 100;
  }

  /** Connects again after the listening connection failed, then tells everyone they may have missed something. */
  private async restart(): Promise<void> {
    await this.start();
    for (const channel of CHANNELS) this.emitter.emit(channel, MAYBE_MISSED);
  }

  private async reconnect(failed: pg.Client): Promise<void> {
    if (this.closed || this.listener !== failed) return;
    this.listener = undefined;
    failed.end().catch(() => {});
    while (!this.closed) {
      await new Promise((resolve) => setTimeout(resolve, this.reconnectDelayMs));
      try {
        await this.restart();
        return;
      } catch {
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5_000);
      }
    }
  }

  /**
   * NOTIFY for the other processes, and at once for this one's own subscribers: they need not wait for
   * the round trip, nor miss the change if this process's LISTEN connection is down right now. (They
   * hear it twice when all is well; a wake-up is only a hint to read the database again.)
   */
  override async publish(channel: NotifyChannel, payload: string): Promise<void> {
    this.emitter.emit(channel, payload);
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  override async close(): Promise<void> {
    this.closed = true;
    await super.close();
    await this.listener?.end().catch(() => {});
  }
}
