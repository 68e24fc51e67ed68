import type { FastifyInstance } from 'fastify';
import type { Deps } from '../context.ts';
import { STYLESHEET } from '../views/style.ts';

/** Liveness, readiness, metrics and the stylesheet. */
export function opsRoutes(app: FastifyInstance, deps: Deps): void {
  app.get('/healthz', async () => ({ status: 'ok', instance: deps.config.instanceId }));

  app.get('/readyz', async (_req, reply) => {
    if (deps.state.draining) return reply.code(503).send({ ready: false, reason: 'draining' });
    // During a failover a replica still serves reads and writes wait for the new master:
    // taking every instance out of the proxy at that moment would fail requests that can succeed.
    const redis = await deps.redis.health();
    if (redis === 'none') return reply.code(503).send({ ready: false, reason: 'no Redis master' });
    return { ready: true, instance: deps.config.instanceId, redis };
  });

  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render(deps.config.instanceId)),
  );

  app.get('/static/app.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
