import type { FastifyInstance } from 'fastify';
import { ERROR_SCHEMA } from './schemas.ts';

type Doc = Record<string, unknown>;

const ERRORS: Record<string, string> = {
  400: 'invalid input: `field` names what is wrong',
  401: 'not logged in',
  403: 'CSRF token missing or wrong, or a cross-site request',
  413: 'body too large',
  415: 'the body is not application/json',
  429: 'too many attempts: `Retry-After` says when to try again',
  503: 'Redis cannot take the request now: `Retry-After` says when to try again',
};

/**
 * The API's OpenAPI 3 description, built from the routes' own schemas as they are added (so it
 * cannot drift from what Fastify validates and serialises). Call before adding the routes; the
 * returned function gives the document.
 */
export function collectOpenApi(app: FastifyInstance): () => Doc {
  const paths: Record<string, Record<string, Doc>> = {};
  app.addHook('onRoute', (route) => {
    const schema = route.schema as (Doc & { summary?: string }) | undefined;
    if (!route.url.startsWith('/api/') || !schema) return;
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    const responses: Record<string, Doc> = {};
    for (const [code, body] of Object.entries((schema['response'] ?? {}) as Record<string, Doc>))
      responses[code] = {
        description: code.startsWith('2') ? 'done' : String(body['description'] ?? ERRORS[code] ?? 'error'),
        ...(body['type'] === 'null' ? {} : { content: { 'application/json': { schema: body } } }),
      };
    for (const code of Object.keys(ERRORS))
      responses[code] ??= {
        description: ERRORS[code],
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    for (const method of methods) {
      paths[route.url] ??= {};
      paths[route.url]![method.toLowerCase()] = {
        summary: schema.summary,
        ...(schema['body']
          ? { requestBody: { required: true, content: { 'application/json': { schema: schema['body'] } } } }
          : {}),
        responses,
      };
    }
  });
  return () => ({
    openapi: '3.0.3',
    info: {
      title: 'redis-ha-stack API',
      version: '1',
      description:
        'Log in with POST /api/login (a session cookie), then send the csrfToken it returns as X-CSRF-Token on every write.',
    },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA } },
  });
}
