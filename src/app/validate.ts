import { badRequest } from './errors.ts';
import { MAX_QUANTITY, PRODUCT_IDS } from './products.ts';

export const EMAIL_MAX = 254;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

const EMAIL_RE = /^[^\s@"<>()[\],;:\\]+@[^\s@"<>()[\],;:\\]+\.[^\s@"<>()[\],;:\\]+$/;

/** Trims and lower-cases: the normalised email is the user's key. */
export function normaliseEmail(value: unknown): string {
  if (typeof value !== 'string') throw badRequest('email', 'email must be a string');
  const email = value.trim().toLowerCase();
  if (email === '') throw badRequest('email', 'email is required');
  if (email.length > EMAIL_MAX) throw badRequest('email', `email must be at most ${EMAIL_MAX} characters`);
  if (!EMAIL_RE.test(email)) throw badRequest('email', 'email is not a valid address');
  return email;
}

export function checkPassword(value: unknown, forNewAccount: boolean): string {
  if (typeof value !== 'string') throw badRequest('password', 'password must be a string');
  if (value.length > PASSWORD_MAX)
    throw badRequest('password', `password must be at most ${PASSWORD_MAX} characters`);
  if (value === '') throw badRequest('password', 'password is required');
  if (forNewAccount && value.length < PASSWORD_MIN) {
    throw badRequest('password', `password must be at least ${PASSWORD_MIN} characters`);
  }
  return value;
}

export function credentials(body: unknown, forNewAccount: boolean): { email: string; password: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('body', 'body must be an object with email and password');
  }
  const b = body as Record<string, unknown>;
  return { email: normaliseEmail(b['email']), password: checkPassword(b['password'], forNewAccount) };
}

function quantity(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw badRequest(field, `${field} must be an integer from 0 to ${MAX_QUANTITY}`);
  }
  if (value < 0 || value > MAX_QUANTITY)
    throw badRequest(field, `${field} must be from 0 to ${MAX_QUANTITY}`);
  return value;
}

function product(field: string, id: string): void {
  if (!PRODUCT_IDS.has(id)) throw badRequest(field, `unknown product "${id.slice(0, 40)}"`);
}

/** `{items: {<product>: <qty>}}` from the JSON API: types are checked, never coerced. */
export function cartItemsFromJson(body: unknown): Map<string, number> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('items', 'body must be an object with items');
  }
  const items = (body as Record<string, unknown>)['items'];
  if (typeof items !== 'object' || items === null || Array.isArray(items)) {
    throw badRequest('items', 'items must be an object of product id to quantity');
  }
  const out = new Map<string, number>();
  for (const [id, qty] of Object.entries(items)) {
    product(`items.${id.slice(0, 40)}`, id);
    out.set(id, quantity(`items.${id}`, qty));
  }
  if (out.size === 0) throw badRequest('items', 'items lists no product');
  return out;
}

/** The /add form: one `qty_<product>` field per product, decimal digits only ('' means 0). */
export function cartItemsFromForm(body: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, raw] of Object.entries(body)) {
    if (name === '_csrf') continue;
    if (!name.startsWith('qty_'))
      throw badRequest(name.slice(0, 40), `unexpected field "${name.slice(0, 40)}"`);
    const id = name.slice(4);
    product(name, id);
    if (typeof raw !== 'string') throw badRequest(name, `${name} must be given once`);
    const text = raw.trim();
    if (text !== '' && !/^\d{1,3}$/.test(text)) {
      throw badRequest(name, `${name} must be a whole number from 0 to ${MAX_QUANTITY}`);
    }
    out.set(id, quantity(name, text === '' ? 0 : Number(text)));
  }
  if (out.size === 0) throw badRequest('items', 'the form lists no product');
  return out;
}
