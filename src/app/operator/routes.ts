import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { type Deps, pageContext, signedSession } from '../context.ts';
import { HttpError } from '../errors.ts';
import type { OperatorConfig } from './config.ts';
import type { TopologySnapshot } from './topology/model.ts';
import type { TopologyObserver } from './topology/observer.ts';
import { topologyPage, topologySections } from './view.ts';

const CLIENT_JS = readFileSync(new URL('./static/topology.js', import.meta.url), 'utf8');
/** Comments keep proxies (HAProxy's `timeout server` is 30 s) from closing a quiet stream. */
const HEARTBEAT_MS = 10_000;

/** A client told its streams are over the limit tries again after this long. */
const STREAMS_RETRY_AFTER_SECONDS = 10;

/**
 * The topology page, its JSON and its event stream: the operator's (see access.ts), reached
 * through HAProxy's operator front. Nothing here runs on the request path of the other routes: the
 * observer starts with the first viewer and stops after the last one.
 */
export function topologyRoutes(
  app: FastifyInstance,
  deps: Deps,
  observer: TopologyObserver,
  { streamsPerAddress, streamsPerInstance }: OperatorConfig,
): void {
  const streams = new Set<() => void>();
  /** Open streams by client address (behind HAProxy, the address it forwards). */
  const perAddress = new Map<string, number>();
  const operator = { onRequest: app.operatorOnly };
  deps.metrics.gauge('topology_streams', 'Open topology event streams.', () => streams.size);
  deps.metrics.gauge('topology_observer_running', '1 while the topology observer polls.', () =>
    observer.active ? 1 : 0,
  );

  app.get('/topology', operator, async (req, reply) => {
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

  app.get('/api/topology', operator, async () => observer.current());

  app.get('/api/topology/stream', operator, (req, reply) => {
    // An open stream holds a connection, memory and a share of the observer's work for as long as
    // the client likes: a few per address, a bounded number per instance.
    const address = req.ip;
    const mine = perAddress.get(address) ?? 0;
    if (mine >= streamsPerAddress || streams.size >= streamsPerInstance) {
      const which =
        mine >= streamsPerAddress ? `${streamsPerAddress} per address` : `${streamsPerInstance} per instance`;
      throw new HttpError(
        429,
        'too_many_streams',
        `too many open topology streams (at most ${which})`,
        undefined,
        {
          'retry-after': String(STREAMS_RETRY_AFTER_SECONDS),
        },
      );
    }
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
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    streams.add(close);
    perAddress.set(address, mine + 1);
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
  });
}
