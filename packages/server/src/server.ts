import { serve, type ServerType } from '@hono/node-server';
import { loadCatalog, ProviderCatalog } from './catalog/catalog.js';
import { ToolGateway } from './gateway/tool-gateway.js';
import { startRefreshSweep } from './oauth/refresh-sweep.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, type ServerConfig } from './config.js';
import type { ServerContext } from './context.js';
import { createApp } from './http/app.js';
import { createServerFetch } from './security/outbound-guard.js';
import { securitySettingsFrom } from './security/settings.js';
import type { Logger } from './logger.js';
import { ensureBootstrapProject, type BootstrapResult } from './services/projects.js';
import { expireDueSetupSessions } from './services/setup-sessions.js';
import { openEmbeddedStore, openPostgresStore, type Store } from './store/database.js';
import { loadEmbeddedKeyring } from './vault/embedded-keyring.js';
import type { Keyring } from './vault/keyring.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';

const EXPIRY_SWEEP_INTERVAL_MS = 15_000;

/** A running Gatehouse server. */
export interface RunningServer {
  /** The address it listens on, e.g. `http://127.0.0.1:4310`. */
  url: string;
  port: number;
  context: ServerContext;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

/** Overrides for tests: a fake clock, a fetch that counts requests. */
export interface StartOptions {
  clock?: Clock;
  fetch?: typeof fetch;
}

/** Opens the store the configuration names (running migrations); the embedded one is locked first. */
export async function openStore(config: ServerConfig, logger: Logger): Promise<{ store: Store; keyring: Keyring }> {
  if (config.databaseUrl) {
    const store = await openPostgresStore(config.databaseUrl, logger);
    // parseConfig refuses DATABASE_URL without GATEHOUSE_ENCRYPTION_KEYS.
    return { store, keyring: config.encryptionKeys! };
  }
  const store = await openEmbeddedStore(config.dataDir, logger);
  try {
    return { store, keyring: loadEmbeddedKeyring(config.dataDir, config.encryptionKeys, logger) };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Starts `gatehouse serve`: opens the store, makes sure the bootstrap project has a key, and serves
 * the API, the hosted pages and the OAuth callback on one port.
 */
export async function startServer(config: ServerConfig, logger: Logger, options: StartOptions = {}): Promise<RunningServer> {
  // Everything that can be checked without the store is checked first: a bad providers file then
  // stops start-up before a database connection (or the data folder's lock) is taken.
  const catalog = loadProviderCatalog(config.providersFile);
  const { store, keyring } = await openStore(config, logger);
  // Until the server is up, every failure closes what was opened: a PostgreSQL pool or LISTEN
  // connection left open would keep a failed process alive after it printed its error.
  const opened: Array<() => Promise<void> | void> = [() => store.close()];
  const closeOpened = async (): Promise<void> => {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => {});
  };
  try {
    const bootstrap = await ensureBootstrapProject(store.db, {
      bootstrapApiKey: config.bootstrapApiKey,
      allowedRedirectUrls: config.allowedRedirectUrls,
    });
    const context = {
      db: store.db,
      storeKind: store.kind,
      notifier: store.notifier,
      keyring,
      catalog,
      clock: options.clock ?? systemClock,
      logger,
      // Every outbound request goes through the SSRF guard unless a test brings its own fetch.
      fetch: options.fetch ?? createServerFetch(config, logger),
      security: securitySettingsFrom(config),
      publicUrl: config.publicUrl ?? '',
      tokenRequestTimeoutMs: config.tokenRequestTimeoutMs,
      allowPrivateNetwork: config.allowPrivateNetwork,
    } as ServerContext;
    context.toolGateway = new ToolGateway(context, {
      toolCallTimeoutMs: config.toolCallTimeoutMs,
      maxResultBytes: config.toolResultMaxBytes,
      clientVersion: '0.1.0',
    });
    opened.push(() => context.toolGateway.close());
    const webhookDispatcher = new WebhookDispatcher(context, { retryBaseMs: config.webhookRetryBaseMs });
    const app = createApp(context);

    const server = await listen(app.fetch, config);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    // Known only now when the port was 0; no request has been served yet.
    context.publicUrl = config.publicUrl ?? url;

    const stopRefreshSweep = startRefreshSweep(context, config.refreshSweepIntervalMs);
    const sweep = setInterval(() => {
      expireDueSetupSessions(context).catch((error: Error) => logger.warn({ err: error.message }, 'expiry sweep failed'));
    }, EXPIRY_SWEEP_INTERVAL_MS);
    sweep.unref();
    webhookDispatcher.start();

    return {
      url,
      port,
      context,
      bootstrap,
      close: once(async () => {
        clearInterval(sweep);
        await webhookDispatcher.close();
        stopRefreshSweep();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Long-polls would keep close() waiting; they are answered by the client's retry.
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await context.toolGateway.close();
        await store.close();
      }),
    };
  } catch (error) {
    await closeOpened();
    throw error;
  }
}

/**
 * Listens on `config.host:config.port`. The errors an operator causes (port taken, an address this
 * machine does not have, a name that does not resolve) become a {@link ConfigError} naming the flag.
 */
async function listen(fetchHandler: (request: Request) => Response | Promise<Response>, config: ServerConfig): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const instance = serve({ fetch: fetchHandler, hostname: config.host, port: config.port }, () => resolve(instance));
    instance.once('error', (error: NodeJS.ErrnoException) => {
      instance.close();
      reject(listenError(error, config));
    });
  });
}

function listenError(error: NodeJS.ErrnoException, config: ServerConfig): Error {
  const where = `${config.host}:${config.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(`--port: ${where} is already in use by another process`);
    case 'EACCES':
      return new ConfigError(`--port: not allowed to listen on ${where} (ports below 1024 need privileges)`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`--host: "${config.host}" is not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ConfigError(`--host: "${config.host}" does not resolve to an address`);
    default:
      return error;
  }
}

/** The built-in catalog plus the operator's providers file, if any (ids must not repeat). */
function loadProviderCatalog(providersFile: string | undefined): ProviderCatalog {
  const builtIn = loadCatalog();
  if (!providersFile) return builtIn;
  return new ProviderCatalog([...builtIn.list(), ...loadCatalog(providersFile).list()]);
}

/** `fn` runs on the first call; later calls get the same promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}
