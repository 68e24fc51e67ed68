import type { FastifyInstance } from 'fastify';
import type { Deps } from '../context.ts';
import { STYLESHEET } from '../views/style.ts';

/** Liveness, readiness, metrics and the stylesheet. */
export function opsRoutes(app: FastifyInstance, deps: Deps): void {
  app.get('/healthz', async () => ({ status: 'ok', instance: deps.config.instanceId }));

  app.get('/readyz', async (_req, reply) => {
    if (deps.state.draining) return reply.code(503).send({ ready: false, reason: 'draining' });
    if (!(await deps.redis.ping())) return reply.code(503).send({ ready: false, reason: 'no Redis master' });
    return { ready: true, instance: deps.config.instanceId };
  });

  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render(deps.config.instanceId)),
  );

  app.get('/static/app.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
