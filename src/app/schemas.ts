import type { FastifySchema } from 'fastify';
import { MAX_QUANTITY, PRODUCTS } from './products.ts';
import { EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN } from './validate.ts';

/**
 * JSON schemas of the API: Fastify validates request bodies with them (types never coerced) and
 * serialises answers with them; /api/openapi.json is built from the same objects. What a schema
 * cannot say (an email's normal form, the session and CSRF checks) stays in code.
 */

const quantity = { type: 'integer', minimum: 0, maximum: MAX_QUANTITY } as const;

/** A cart: every product of the catalogue with its quantity (0 when absent). */
const cart = {
  type: 'object',
  properties: Object.fromEntries(PRODUCTS.map((p) => [p.id, quantity])),
  additionalProperties: false,
} as const;

const credentials = (minPassword: number) =>
  ({
    type: 'object',
    required: ['email', 'password'],
    properties: {
      // The length is checked again once trimmed (validate.ts), with the address's form.
      email: { type: 'string', minLength: 1, maxLength: EMAIL_MAX + 64 },
      password: { type: 'string', minLength: minPassword, maxLength: PASSWORD_MAX },
    },
  }) as const;

const emailAndToken = {
  type: 'object',
  required: ['email', 'csrfToken'],
  properties: { email: { type: 'string' }, csrfToken: { type: 'string' } },
} as const;

const cartAnswer = {
  type: 'object',
  required: ['email', 'items'],
  properties: { email: { type: 'string' }, items: cart, csrfToken: { type: 'string' } },
} as const;

/** Every error of the API: a code, a message, and the field at fault when there is one. */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
} as const;

export const SCHEMAS = {
  products: {
    summary: 'The catalogue',
    response: {
      200: {
        type: 'object',
        properties: {
          products: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'name'],
              properties: { id: { type: 'string' }, name: { type: 'string' } },
            },
          },
        },
      },
    },
  },
  register: {
    summary: 'Create an account',
    body: credentials(PASSWORD_MIN),
    response: {
      201: { type: 'object', properties: { email: { type: 'string' } } },
      409: { ...ERROR_SCHEMA, description: 'the email is already registered (`email_taken`)' },
    },
  },
  login: {
    summary: 'Log in: sets the session cookie; the CSRF token goes in X-CSRF-Token on writes',
    body: credentials(1),
    response: { 200: emailAndToken },
  },
  logout: { summary: 'End the session (X-CSRF-Token)', response: { 204: { type: 'null' } } },
  session: { summary: 'The logged-in email and a CSRF token', response: { 200: emailAndToken } },
  getCart: { summary: 'The cart of the logged-in user', response: { 200: cartAnswer } },
  putCart: {
    summary: 'Set quantities (X-CSRF-Token); products not named keep theirs, 0 removes one',
    body: {
      type: 'object',
      required: ['items'],
      properties: { items: { ...cart, minProperties: 1 } },
    },
    response: { 200: cartAnswer },
  },
  deleteCart: { summary: 'Empty the cart (X-CSRF-Token)', response: { 200: cartAnswer } },
} satisfies Record<string, FastifySchema & { summary: string }>;

/** One validation error of Ajv, as Fastify passes it on. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string | undefined;
  params: Record<string, unknown>;
}

/**
 * The field a validation error is about, as the API names fields (`email`, `items.<product>`,
 * `body` for the body itself), and a message that starts with it.
 */
export function describeSchemaError(e: SchemaError): { field: string; message: string } {
  const path = e.instancePath.split('/').filter(Boolean);
  const extra = e.params['additionalProperty'] ?? e.params['missingProperty'];
  if (typeof extra === 'string') path.push(extra);
  const field = path.length ? path.join('.').slice(0, 80) : 'body';
  if (e.keyword === 'additionalProperties') return { field, message: `${field}: unknown product` };
  if (e.keyword === 'required') return { field, message: `${field} is required` };
  if (e.keyword === 'minProperties') return { field, message: `${field} lists no product` };
  return { field, message: `${field} ${e.message ?? 'is not valid'}` };
}
