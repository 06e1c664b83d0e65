import path from 'node:path';
import { type App, type CreateAppOptions, createApp } from './app.ts';
import { refreshCredentialsUrl, writeCredentials } from './auth/bootstrap.ts';
import type { Config } from './config/config.ts';
import { AppError, toError } from './errors.ts';
import { isLoopbackBind as isLoopback } from './http/plugins/host-guard.ts';
import { createLogger } from './observability/logger.ts';

/**
 * Runs the server until a signal: the first SIGTERM/SIGINT starts a graceful shutdown with a
 * deadline, a second one exits at once. SIGHUP re-reads tenants.yaml in place.
 */
export async function serve(
  config: Config,
  print: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  options: Pick<CreateAppOptions, 'tools'> = {},
) {
  if (config.auth.mode === 'dev' && !isLoopback(config.server.host)) {
    throw new AppError(
      'config_error',
      `auth mode "dev" trusts X-User-Id and is refused on a non-loopback address (${config.server.host})`,
    );
  }
  if (config.auth.loopback_key && !isLoopback(config.server.host)) {
    throw new AppError(
      'config_error',
      `auth.loopback_key (AGENTRY_LOOPBACK_KEY) stands for callers without credentials and is refused on a non-loopback address (${config.server.host})`,
    );
  }
  if (config.fleet.role !== 'all' && !config.store.database_url) {
    throw new AppError(
      'config_error',
      `role "${config.fleet.role}" needs PostgreSQL (DATABASE_URL): the embedded store belongs to one ` +
        'process, which must then do everything (role "all")',
    );
  }
  if (config.fleet.role === 'worker' && config.tasks.workers === 0) {
    throw new AppError('config_error', 'role "worker" with tasks.workers 0 has nothing to run');
  }
  const log = createLogger(config.log_level);
  const app: App = await createApp(config, {
    log,
    onMigration: (name) => print(`migrating: ${name}`),
    // With none configured, a ./tenants.yaml made after start is read on the first SIGHUP after it.
    tenantsFileLater: path.resolve('tenants.yaml'),
    ...options,
  });
  // Handlers go in before the ready line: a supervisor may signal as soon as it sees it.
  const reloadPolicies = () => {
    const { policies } = app.services;
    if (!policies.file) {
      log.warn(
        `SIGHUP: no tenants file is configured (AGENTRY_TENANTS_FILE) and ${path.resolve('tenants.yaml')} does not exist; nothing to reload`,
      );
      return;
    }
    try {
      policies.reload();
      log.info({ file: policies.file }, 'SIGHUP: tenant policies reloaded');
    } catch (err) {
      // A typo in the file must not take policy away from running tenants: keep the old one.
      log.error(
        { file: policies.file, err: toError(err) },
        `SIGHUP: ${policies.file} is invalid; the previous policies stay in force`,
      );
    }
  };

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.server.shutdown_grace_seconds * 1000);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err: toError(err) }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', reloadPolicies);
  const address = await app.http.listen({ host: config.server.host, port: config.server.port });
  const url = address.replace('[::1]', 'localhost');

  if (app.adminKey) {
    writeCredentials(config.credentials_file, { url, api_key: app.adminKey, tenant: 'default' });
    print('');
    print('  First start: created tenant "default" and an admin API key. It is shown only this once:');
    print('');
    print(`    ${app.adminKey}`);
    print('');
    print(`  Saved for the CLI in ${config.credentials_file} (mode 0600).`);
    print('');
  } else {
    // A later start may listen elsewhere (another port): the saved key stays, its URL follows.
    refreshCredentialsUrl(config.credentials_file, url);
  }
  const role = config.fleet.role === 'all' ? '' : `, role: ${config.fleet.role}`;
  print(`agentry listening on ${url} (store: ${app.db.kind}${role})`);
  // A worker serves only its health endpoints: no console there.
  if (config.fleet.role !== 'worker')
    print(`console: ${url}/#sign-in=${app.http.signInLinks.issue()} (a one-time link)`);
  const vectors = app.services.memory.vectorSearch;
  print(
    vectors.state === 'on'
      ? `vector search on (embedder ${vectors.embedder})`
      : `vector search off: knowledge-base search is full-text only; to turn it on, ${vectors.how}`,
  );

  return app;
}
