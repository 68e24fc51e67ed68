import type { Server } from 'node:http';
import type { Redis } from 'ioredis';

/** A reference server stops at once on SIGTERM or SIGINT: connections closed, Redis dropped. */
export function stopOnSignal(server: Server, redis: Redis): void {
  const stop = () => {
    server.close();
    server.closeAllConnections();
    redis.disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
