import type { StackActions } from '../../ops/actions.ts';
import { apiSignUp, call } from '../loadgen/api-user.ts';
import { accountPassword } from '../loadgen/password.ts';

/**
 * Cart writes sent straight to each app's own port (not through HAProxy, which takes an app whose
 * Redis is gone out and answers 503 itself, unseen by the app's metrics): the requests whose 5xx
 * AppHighErrorRate counts. `per` users an app, each writing without a pause until stopped.
 */
export async function errorLoad(s: StackActions, per = 4): Promise<{ stop: () => Promise<void> }> {
  const tag = Date.now().toString(36);
  const users = await Promise.all(
    s.topology.apps.flatMap((a) =>
      Array.from({ length: per }, (_, i) =>
        apiSignUp(
          `http://${a.host}:${a.port}`,
          `alerts-${tag}-${a.name}-${i}@example.com`,
          accountPassword(),
          ['keyboard'],
        ),
      ),
    ),
  );
  let stopped = false;
  const loops = users.map(async (u, i) => {
    for (let n = 0; !stopped; n++) {
      const answer = await call(u, 'PUT', '/api/cart', { items: { keyboard: (n % 9) + 1 } });
      // A refused connection answers at once: no busy loop then.
      if (answer.status === 0) await new Promise((r) => setTimeout(r, 200 + i));
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      for (const u of users) u.client.close();
    },
  };
}
