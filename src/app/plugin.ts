import type { FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

export interface PluginMeta {
  name: string;
  /** Plugins registered before this one (by name); Fastify refuses to start without them. */
  dependencies?: string[];
  /** Decorators it uses: checked when it is registered, not on the first request. */
  decorators?: { fastify?: string[] };
}

/**
 * What fastify-plugin does, for the app's own plugins (it is no dependency of ours): the plugin
 * gets a name and declares what it needs, which Fastify checks when it is registered, and what it
 * adds (routes, hooks, decorators) belongs to the app that registers it rather than to a scope of
 * its own.
 */
export function definePlugin<O extends FastifyPluginOptions>(
  fn: FastifyPluginAsync<O>,
  meta: PluginMeta,
): FastifyPluginAsync<O> {
  return Object.assign(fn, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: meta.name,
    [Symbol.for('plugin-meta')]: meta,
  });
}
