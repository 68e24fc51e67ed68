import type { FastifyInstance } from 'fastify';
import { describeMode } from '../../ha/mode.ts';
import type { Deps } from '../context.ts';
import { STYLESHEET } from '../views/style.ts';

/**
 * How long no Redis node may answer before `/readyz` says not ready: while the replica connection
 * moves off a node that was just promoted, and the master connection has not reached it yet, no
 * connection answers for a moment, and requests then wait for the master rather than fail.
 */
const UNAVAILABLE_GRACE_MS = 3000;

/** Liveness, readiness, metrics and the stylesheet. */
export function opsRoutes(app: FastifyInstance, deps: Deps): void {
  let unavailableSince: number | null = null;

  app.get('/healthz', async () => ({ status: 'ok', instance: deps.config.instanceId }));

  app.get('/readyz', async (req, reply) => {
    // In every degraded mode but a lasting `unavailable` some requests still succeed (reads from a
    // replica or from a master that refuses writes; writes wait for a new master): taking every
    // instance out of the proxy then would fail requests that can succeed.
    const h = await deps.redis.health();
    if (h.mode !== 'unavailable') unavailableSince = null;
    else unavailableSince ??= Date.now();
    const lasting = unavailableSince !== null && Date.now() - unavailableSince >= UNAVAILABLE_GRACE_MS;
    const ready = !deps.state.draining && !lasting;
    reply.code(ready ? 200 : 503);
    // Anyone gets ready or not; the mode, the node serving and the replicas only the operator (the
    // operator's password, as on the operator's views), so the public front tells no one the
    // state of the stack.
    if (!app.isOperator(req)) return { ready };
    return {
      ready,
      ...(deps.state.draining ? { reason: 'draining' } : {}),
      instance: deps.config.instanceId,
      mode: h.mode,
      detail: describeMode(h.mode),
      redis: h.serving,
      replicasOfMaster: h.replicasOfMaster,
    };
  });

  // The operator's: reached through the operator front (/metrics/<instance>), never the public one.
  app.get('/metrics', { onRequest: app.operatorOnly }, async (_req, reply) =>
    reply.type(deps.metrics.contentType).send(await deps.metrics.render()),
  );

  app.get('/static/app.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
}
