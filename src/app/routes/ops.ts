import type { FastifyInstance } from 'fastify';
import { describeMode } from '../../redis/mode.ts';
import type { Deps } from '../context.ts';
import { STYLESHEET } from '../views/style.ts';

/** Liveness, readiness, metrics and the stylesheet. */
export function opsRoutes(app: FastifyInstance, deps: Deps): void {
  app.get('/healthz', async () => ({ status: 'ok', instance: deps.config.instanceId }));

  app.get('/readyz', async (_req, reply) => {
    if (deps.state.draining) return reply.code(503).send({ ready: false, reason: 'draining' });
    // In every degraded mode but `unavailable` some requests still succeed (reads from a replica or
    // from a master that refuses writes; writes wait for a new master): taking every instance out
    // of the proxy then would fail requests that can succeed.
    const h = await deps.redis.health();
    const body = {
      ready: h.mode !== 'unavailable',
      instance: deps.config.instanceId,
      mode: h.mode,
      detail: describeMode(h.mode),
      redis: h.serving,
      replicasOfMaster: h.replicasOfMaster,
    };
    return reply.code(body.ready ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render(deps.config.instanceId)),
  );

  app.get('/static/app.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
