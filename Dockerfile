# syntax=docker/dockerfile:1
# The app image: compile with the dev dependencies, ship the compiled JavaScript with the production
# dependencies only (tsx and TypeScript are dev dependencies: not in the image). `docker build -t
# redis-ha-stack .`; deploy/compose.yaml runs two of it.
# Node 24, the active long-term support release (maintained until April 2028; Node 20's support
# ended on 2026-04-30; npm test runs the process tests on 22 and 24). A pinned major on Debian
# bookworm: a rebuild picks up its security fixes, never a new major.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The product alone: the app, the Redis-HA library and the configuration (src/ops, the operator's
# tool, and src/tools, the test tools, never enter the image).
COPY src/server.ts ./src/
COPY src/app ./src/app
COPY src/ha ./src/ha
COPY src/config ./src/config
# dist/ is src/ compiled (tsconfig.build.json rewrites the .ts import specifiers to .js), so the image
# runs plain `node dist/server.js` and needs no TypeScript loader at run time.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3001
WORKDIR /app
# Owned by root and only readable by the user the app runs as: it cannot change its own code.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER node
EXPOSE 3001
# The check runs bash's /dev/tcp, not a second Node process: starting Node for every check cost up
# to a second of CPU on a loaded machine and made `compose up` wait minutes for "healthy".
HEALTHCHECK --interval=3s --timeout=2s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-3001} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
# SIGTERM: /readyz answers 503 for SHUTDOWN_DRAIN_MS, then in-flight requests finish (src/server.ts).
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
