import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { type Deps, pageContext, signedSession } from '../context.ts';
import type { TopologySnapshot } from '../topology/model.ts';
import { topologyPage, topologySections } from '../views/topology.ts';

const CLIENT_JS = readFileSync(new URL('../static/topology.js', import.meta.url), 'utf8');
/** Comments keep proxies (HAProxy's `timeout server` is 30 s) from closing a quiet stream. */
const HEARTBEAT_MS = 10_000;

/**
 * The topology page, its JSON and its event stream. Nothing here runs on the request path of the
 * other routes: the observer starts with the first viewer and stops after the last one.
 */
export function topologyRoutes(app: FastifyInstance, deps: Deps): void {
  const observer = deps.topology;
  const streams = new Set<() => void>();
  deps.metrics.gauge('topology_streams', 'Open topology event streams.', () => streams.size);
  deps.metrics.gauge('topology_observer_running', '1 while the topology observer polls.', () =>
    observer.active ? 1 : 0,
  );

  app.get('/topology', async (req, reply) => {
    const signed = signedSession(deps, req);
    // Who is logged in matters only to the header: a stale or unreadable session is not an error here.
    const session = signed
      ? await deps.sessions.load(signed.sid, signed.email).then(
          (r) => r.session,
          () => null,
        )
      : null;
    const snapshot = await observer.current();
    return reply
      .type('text/html; charset=utf-8')
      .send(topologyPage(pageContext(deps, req, reply, session), snapshot));
  });

  app.get('/api/topology', async () => observer.current());

  app.get('/api/topology/stream', (req, reply) => {
    const asHtml = (req.query as Record<string, unknown>)['format'] === 'html';
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    const send = (s: TopologySnapshot) => {
      const data = asHtml
        ? { at: s.at, observer: s.observer, master: s.master?.name ?? null, sections: topologySections(s) }
        : s;
      res.write(`event: ${asHtml ? 'sections' : 'snapshot'}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    let unsubscribe = () => {};
    const close = () => {
      if (!streams.delete(close)) return;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    streams.add(close);
    res.on('close', close);
    unsubscribe = observer.subscribe(send);
  });

  app.get('/static/topology.js', async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(CLIENT_JS),
  );

  // Open streams would hold the server open: end them (browsers reconnect to another instance).
  app.addHook('preClose', async () => {
    for (const close of [...streams]) close();
    await observer.close();
  });
}
