import type { Deps } from '../context.ts';
import { definePlugin } from '../plugin.ts';
import type { OperatorConfig } from './config.ts';
import { topologyRoutes } from './routes.ts';
import { TopologyObserver } from './topology/observer.ts';

export interface OperatorDashboardOptions {
  deps: Deps;
  config: OperatorConfig;
}

/**
 * The operator dashboard: the topology page, its JSON, its event stream and their script, and the
 * observer behind them. Registered only when it is configured (readOperatorConfig); without it
 * those routes do not exist and answer 404 like any unknown path.
 */
export const operatorDashboard = definePlugin<OperatorDashboardOptions>(
  async (app, { deps, config }) => {
    const { redis } = deps.config;
    const observer = new TopologyObserver({
      config: config.topology,
      instance: deps.config.instanceId,
      redisUsername: redis.username,
      redisPassword: redis.password,
      sentinelUsername: redis.sentinelUsername,
      sentinelPassword: redis.sentinelPassword,
      statsPassword: config.password,
      statsPreviousPassword: config.previousPassword,
      minReplicas: redis.waitReplicas,
    });
    topologyRoutes(app, deps, observer, config);
    app.addHook('onClose', async () => observer.close());
  },
  {
    name: 'operator-dashboard',
    dependencies: ['operator-access'],
    decorators: { fastify: ['operatorOnly'] },
  },
);
