#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, type ServerConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer, openStore } from './server.js';
import { createApiKey } from './services/api-keys.js';
import { createProject, ensureBootstrapProject, getProject } from './services/projects.js';
import { Keyring } from './vault/keyring.js';
import { encryptionStatusCommand, rotateEncryptionCommand } from './vault/rotate-encryption.js';

/** How long a failed command may take to exit by itself before it is made to. */
const FAILED_EXIT_GRACE_MS = 2_000;

const USAGE = `Usage:
  gatehouse serve [--port 4310] [--host 127.0.0.1] [--data-dir ./.gatehouse]
      Runs the API, the hosted setup pages and the OAuth callback.
  gatehouse keys create [--project prj_…] [--name NAME] [--data-dir ./.gatehouse]
      Prints a new API key for the project (default: the bootstrap project), shown once.
  gatehouse projects create --name NAME [--data-dir ./.gatehouse]
      Creates a project (a tenant) and prints its id and its first API key (shown once).
  gatehouse keys generate-encryption-key
      Prints a new GATEHOUSE_ENCRYPTION_KEYS entry (kid:base64key).
  gatehouse keys rotate-encryption [--batch-size 200] [--data-dir ./.gatehouse]
      Re-encrypts every secret under the first key of GATEHOUSE_ENCRYPTION_KEYS (PostgreSQL: while
      servers run; embedded store: stop the server first). Exit 1 if a secret could not be decrypted.
  gatehouse keys encryption-status [--data-dir ./.gatehouse]
      Prints how many secrets each encryption key protects.

Environment: DATABASE_URL, GATEHOUSE_PUBLIC_URL, GATEHOUSE_ENCRYPTION_KEYS, GATEHOUSE_BOOTSTRAP_API_KEY,
GATEHOUSE_ALLOWED_REDIRECT_URLS, GATEHOUSE_ALLOW_PRIVATE_NETWORK, GATEHOUSE_LOG_LEVEL.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      name: { type: 'string' },
      project: { type: 'string' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (values.help || command === '' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const flags = { port: values.port, host: values.host, dataDir: values['data-dir'] };

  if (command === 'keys generate-encryption-key') {
    console.log(Keyring.generateEntry());
    return 0;
  }
  const config = parseConfig(flags, process.env);
  if (command === 'serve') return serveCommand(config);
  if (command === 'keys create') return createKeyCommand(config, values.name, values.project);
  if (command === 'projects create') return createProjectCommand(config, values.name);
  if (command === 'keys rotate-encryption' || command === 'keys encryption-status') {
    const { store, keyring } = await openStore(config, createLogger('warn', process.stderr));
    try {
      if (command === 'keys encryption-status') return await encryptionStatusCommand(store.db, keyring);
      return await rotateEncryptionCommand(store.db, keyring, { batchSize: values['batch-size'] });
    } finally {
      await store.close();
    }
  }
  console.error(`Unknown command "${command}".\n\n${USAGE}`);
  return 2;
}

async function serveCommand(config: ServerConfig): Promise<number> {
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  // Listen for the stop signals before announcing the URL: whoever reads "running at" may stop the
  // process at once, and a signal without a handler would kill it without releasing the data folder.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const storeLabel = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded, in ${config.dataDir}`;
  const lines = [
    '',
    `Gatehouse is running at ${server.url}`,
    `  public URL: ${server.context.publicUrl}`,
    `  store:      ${storeLabel}`,
  ];
  if (server.bootstrap.generatedApiKey) {
    lines.push(
      '',
      `  API key (shown once, store it now): ${server.bootstrap.generatedApiKey}`,
      '  Use it as GATEHOUSE_API_KEY with @gatehouse/sdk. `gatehouse keys create` makes more.',
    );
  } else if (server.bootstrap.adoptedBootstrapKey) {
    lines.push('  API key: GATEHOUSE_BOOTSTRAP_API_KEY is now the project key.');
  }
  // One write, so whoever reads the output sees the key together with the URL.
  console.log(`${lines.join('\n')}\n`);
  await stopped;
  logger.info('shutting down');
  await server.close();
  return 0;
}

async function createKeyCommand(config: ServerConfig, name: string | undefined, project: string | undefined): Promise<number> {
  const logger = createLogger('warn', process.stderr);
  const { store } = await openStore(config, logger);
  try {
    let projectId: string;
    if (project !== undefined) {
      if (!(await getProject(store.db, project))) {
        console.error(`gatehouse: --project: no project ${project}.`);
        return 1;
      }
      projectId = project;
    } else {
      ({ projectId } = await ensureBootstrapProject(store.db, { allowedRedirectUrls: config.allowedRedirectUrls, bootstrapApiKey: config.bootstrapApiKey }));
    }
    const { apiKey } = await createApiKey(store.db, projectId, { name });
    console.log(apiKey);
  } finally {
    await store.close();
  }
  return 0;
}

async function createProjectCommand(config: ServerConfig, name: string | undefined): Promise<number> {
  if (!name?.trim() || name.length > 100) {
    console.error('gatehouse: projects create needs --name NAME (1-100 characters).');
    return 2;
  }
  const { store } = await openStore(config, createLogger('warn', process.stderr));
  try {
    const { projectId, apiKey } = await createProject(store.db, { name: name.trim() });
    console.log(`project: ${projectId}\napi key (shown once, store it now): ${apiKey}`);
  } finally {
    await store.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    // Start-up problems are the operator's to fix: say what, without a stack trace.
    const known = error instanceof ConfigError || ['DataDirLockedError', 'KeyringError', 'CatalogError'].includes(error.name);
    console.error(known ? `gatehouse: ${error.message}` : error);
    process.exitCode = 1;
    // startServer closes what it opened, so the process normally ends here by itself. Should a
    // connection still be open (a pool a failed migration left behind), a failed command must not
    // hang a supervisor waiting for it to exit: give stderr a moment to drain, then leave.
    setTimeout(() => process.exit(1), FAILED_EXIT_GRACE_MS).unref();
  },
);
