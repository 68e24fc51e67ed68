import { buildApp, flushLogs } from './app/app.ts';
import { type OperatorConfig, readOperatorConfig } from './app/operator/config.ts';
import { type AppConfig, ConfigError, loadConfig } from './config/index.ts';
import { useStackTls } from './ha/tls.ts';

async function main(): Promise<void> {
  let config: AppConfig;
  let operator: OperatorConfig | undefined;
  try {
    config = loadConfig();
    operator = readOperatorConfig(process.env, config.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  // Every Redis and Sentinel connection of this process (the layer, the watchers, the probes) over TLS when set.
  useStackTls(config.redis.tls);
  const { app, deps } = await buildApp(config, { operator });
  if (config.sessionSecretGenerated) {
    app.log.warn(
      'SESSION_SECRET not set: generated one for this process (development mode); sessions will not survive a restart or be shared between instances',
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Report not-ready first so the proxy stops sending new requests, then finish in-flight ones.
    deps.state.draining = true;
    app.log.info({ signal, drainMs: config.shutdownDrainMs }, 'draining');
    await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
    const force = setTimeout(() => {
      flushLogs();
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    await app.close();
    clearTimeout(force);
    app.log.info('stopped');
    flushLogs();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
}

main().catch((err) => {
  flushLogs();
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
