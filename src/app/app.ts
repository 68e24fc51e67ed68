import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import pino from 'pino';
import type { AppConfig } from '../config/index.ts';
import { RedisLayer, StoreFullError, UnavailableError } from '../ha/index.ts';
import { backupAgeGauge, certificateGauge } from './backup-age.ts';
import { type Deps, pageContext } from './context.ts';
import { HttpError } from './errors.ts';
import { followCertificate, httpsOption } from './https.ts';
import { Metrics } from './metrics.ts';
import { operatorAccess } from './operator/access.ts';
import type { OperatorConfig } from './operator/config.ts';
import { operatorDashboard } from './operator/plugin.ts';
import { apiRoutes } from './routes/api.ts';
import { opsRoutes } from './routes/ops.ts';
import { pageRoutes } from './routes/pages.ts';
import { describeSchemaError, type SchemaError } from './schemas.ts';
import { HashSlots } from './security/hash-slots.ts';
import { answerHeaders } from './security/headers.ts';
import { crossSiteReason, hasBody, isJson, requestIds, WRITE_METHODS } from './security/requests.ts';
import { cookieNames, Tokens } from './security/tokens.ts';
import { CartStore } from './stores/carts.ts';
import { AttemptLimiter } from './stores/limits.ts';
import { SessionStore } from './stores/sessions.ts';
import { UserStore } from './stores/users.ts';
import { errorPage } from './views/pages.ts';

/** A request at least this slow is logged at info level even when it succeeded. */
const SLOW_REQUEST_MS = 500;

export interface BuiltApp {
  app: FastifyInstance;
  deps: Deps;
}

/**
 * Standard output written asynchronously: under load the lines of many requests leave in one
 * write instead of one system call per request (a request log line cost ~17 µs of CPU when written
 * synchronously, measured with npm run bench); at low traffic each line is still written at once.
 */
export const logStream = pino.destination({ dest: 1, sync: false });

/** Writes out what the log still holds; call before process.exit. */
export function flushLogs(): void {
  try {
    logStream.flushSync();
  } catch {
    // Nothing pending, or the stream is not ready yet.
  }
}

export function loggerOptions(config: AppConfig): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    stream: logStream,
    base: { instance: config.instanceId },
    // Never log credentials, cookies or anything that names a session.
    redact: {
      paths: [
        'req.headers.cookie',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        ip: req.ip,
      }),
    },
  };
}

export interface AppOptions {
  /** A Redis layer the caller owns (and closes); by default the app makes its own. */
  redis?: RedisLayer | undefined;
  /** The operator dashboard's settings (readOperatorConfig); without them the app has none. */
  operator?: OperatorConfig | undefined;
}

/** Builds the app (no listening): the server and the tests share this. */
export async function buildApp(config: AppConfig, options: AppOptions = {}): Promise<BuiltApp> {
  const { redis, operator } = options;
  const metrics = new Metrics(config.instanceId, { node: config.metricsNode });
  // The layer starts before the server and its logger: what it reports waits for the logger.
  // Where the master connection goes and when is logged, to read a failover afterwards.
  let log: FastifyBaseLogger | undefined;
  const layer =
    redis ??
    new RedisLayer(config.redis, config.instanceId, {
      onError: (where) => metrics.redisError(where),
      onMasterChange: (addr) => {
        metrics.count('masterConnections');
        log?.info(`redis master connection ready at ${addr}`);
      },
      onSwitch: (to, master) =>
        log?.info(`a Sentinel announced +switch-master to ${to}; master connection ${master}`),
      onReplicaRead: () => metrics.count('replicaReads'),
      onWarn: (message, err) => log?.warn({ err: err.message }, message),
    });
  const tokens = new Tokens(config.sessionSecret, config.sessionSecretPrevious);
  const deps: Deps = {
    config,
    redis: layer,
    tokens,
    cookies: cookieNames(config.cookieSecure),
    sessions: new SessionStore(
      layer,
      config.sessionTtlSeconds,
      config.sessionMaxAgeSeconds,
      config.sessionsPerAccount,
    ),
    users: new UserStore(layer),
    carts: new CartStore(
      layer,
      { ttlSeconds: config.sessionTtlSeconds, maxAgeSeconds: config.sessionMaxAgeSeconds },
      config.redis.writeDeadlineMs,
    ),
    limiter: new AttemptLimiter(
      layer,
      {
        perPair: config.loginLimitPerEmail,
        perAddress: config.loginLimitPerIp,
        slowdownAfter: config.loginSlowdownAfter,
        slowdownMaxSeconds: config.loginSlowdownMaxSeconds,
        perDevice: config.loginLimitPerDevice,
        windowSeconds: config.loginLimitWindowSeconds,
      },
      { perAddress: config.registerLimitPerIp, windowSeconds: config.registerLimitWindowSeconds },
    ),
    hashes: new HashSlots(config.hashConcurrency),
    metrics,
    state: { draining: false },
  };

  backupAgeGauge(metrics, config.instanceId, layer);
  certificateGauge(metrics, config.instanceId);
  metrics.gauge(
    'password_hashes_running',
    'Password hashes being computed now.',
    () => deps.hashes.usage.busy,
  );
  metrics.gauge(
    'password_hashes_waiting',
    'Logins and registrations waiting to hash a password.',
    () => deps.hashes.usage.waiting,
  );

  const app = Fastify({
    logger: loggerOptions(config),
    // One line per request, written by the onResponse hook below (route, status, time).
    logController: new LogController({ disableRequestLogging: true }),
    // X-Forwarded-For from the proxy's address alone; without one, the connection's address.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: config.bodyLimitBytes,
    keepAliveTimeout: 65_000,
    requestTimeout: 30_000,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: requestIds(),
    // No child logger per request (its creation costs more than the rest of a cached page view):
    // the few request-scoped lines below carry the request id themselves.
    childLoggerFactory: (logger) => logger,
    // Types are never coerced, unknown fields are refused (not silently dropped), defaults not filled in.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    // HTTPS with APP_TLS_*_FILE (an https.Server: the same interface as far as Fastify's use here goes).
    ...(httpsOption(config.serverTls) as object),
  });
  followCertificate(app, config.serverTls);
  log = app.log;

  // Hot path: callback-style hooks (no promise per request) and one header object built once.
  const headers = answerHeaders(config.instanceId);
  const debugRequests = config.logLevel === 'debug' || config.logLevel === 'trace';
  app.addHook('onRequest', (req, reply, done) => {
    reply.headers(headers);
    if (!WRITE_METHODS.has(req.method)) return done();
    writeChecks(req, done);
  });
  function writeChecks(req: FastifyRequest, done: (err?: Error) => void): void {
    // Writes, before their body is read: from this site only, and JSON only under /api.
    const crossSite = crossSiteReason(req.headers);
    if (crossSite) {
      done(new HttpError(403, 'cross_site', `writes from another site are refused (${crossSite})`, 'origin'));
      return;
    }
    // The route as matched (its path decoded), not the raw URL: `/%61pi/login` is /api/login too.
    const path = req.routeOptions.url ?? req.url;
    if (path.startsWith('/api/') && hasBody(req.headers) && !isJson(req.headers['content-type'])) {
      done(new HttpError(415, 'unsupported_media_type', 'send the body as application/json', 'content-type'));
      return;
    }
    done();
  }
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    metrics.request(req.method, route, status, ms / 1000);
    // Every request at debug; at info only those that failed or were slow (a line per request
    // costs a fifth of the throughput of the cart page; HAProxy can log every request instead).
    if (status >= 400 || ms >= SLOW_REQUEST_MS) {
      req.log.info(
        { reqId: req.id, method: req.method, route, status, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    } else if (debugRequests) {
      req.log.debug(
        { reqId: req.id, method: req.method, route, status, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    }
    done();
  });

  app.setNotFoundHandler(async (req, _reply) => {
    throw new HttpError(
      404,
      'not_found',
      `no route for ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`,
    );
  });

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    let status = 500;
    let body: Record<string, unknown> = { error: 'internal', message: 'internal error' };
    if (err instanceof HttpError) {
      status = err.statusCode;
      body = { error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    } else if (err instanceof UnavailableError) {
      status = 503;
      reply.header('retry-after', String(err.retryAfterSeconds));
      body = { error: err instanceof StoreFullError ? 'store_full' : 'unavailable', message: err.message };
      if (err instanceof StoreFullError) metrics.count('storeFull');
      req.log.warn({ reqId: req.id, err: err.message }, 'redis unavailable');
    } else if (err.validation?.[0]) {
      // A body the route's JSON schema refused (schemas.ts): named as the hand checks name fields.
      status = 400;
      const { field, message } = describeSchemaError(err.validation[0] as SchemaError);
      body = { error: 'invalid_input', message, field };
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors: bad JSON, body too large, wrong content type.
      status = err.statusCode;
      body = { error: err.code ?? 'bad_request', message: err.message, field: 'body' };
    } else {
      req.log.error({ reqId: req.id, err }, 'unhandled error');
    }
    reply.code(status);
    if (
      (req.routeOptions.url ?? req.url).startsWith('/api/') ||
      !String(req.headers.accept ?? '').includes('text/html')
    )
      return body;
    const ctx = pageContext(deps, req, reply, null);
    return reply.type('text/html; charset=utf-8').send(errorPage(ctx, status, String(body['message'])));
  });

  // Before the routes it guards (/metrics here, the dashboard's below).
  await app.register(operatorAccess, {
    password: operator?.password,
    previousPassword: operator?.previousPassword,
  });
  opsRoutes(app, deps);
  apiRoutes(app, deps);
  // Form bodies (urlencoded) are parsed for the pages only: the API takes JSON and nothing else.
  await app.register(async (pages) => {
    await pages.register(formbody, { bodyLimit: config.bodyLimitBytes });
    pageRoutes(pages, deps);
  });
  // The operator dashboard, only when it is configured: without it the app holds no operator
  // credential and its routes answer 404 like any unknown path.
  if (operator) await app.register(operatorDashboard, { deps, config: operator });

  app.addHook('onClose', async () => {
    await deps.hashes.close();
    if (!redis) await layer.close();
  });
  return { app, deps };
}
