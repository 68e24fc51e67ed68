import { PRODUCTS } from '../products.ts';
import type { Cart } from '../stores/carts.ts';
import { EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN } from '../validate.ts';
import { field, Html, html, layout, type PageContext } from './html.ts';

export interface FormState {
  email?: string;
  error?: { field: string; message: string } | undefined;
}

/** A validation message names the field by its form name; next to the field, its label reads better. */
function inWords(message: string, name: string, label: string): string {
  const text = message.startsWith(`${name} `) ? `${label}${message.slice(name.length)}` : message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const LABELS: Record<string, string> = { email: 'Email', password: 'Password' };

const errorFor = (state: FormState, name: string) =>
  state.error?.field === name ? inWords(state.error.message, name, LABELS[name] ?? name) : undefined;

function generalError(state: FormState) {
  const e = state.error;
  return e && e.field !== 'email' && e.field !== 'password'
    ? html`<p class="error" role="alert">${e.message}</p>`
    : '';
}

function credentialsForm(action: string, button: string, ctx: PageContext, state: FormState, isNew: boolean) {
  return html`<form method="post" action="${action}" novalidate>
<input type="hidden" name="_csrf" value="${ctx.csrf}">${generalError(state)}
${field('email', 'Email', { type: 'email', value: state.email ?? '', error: errorFor(state, 'email'), autocomplete: 'email', attrs: `maxlength="${EMAIL_MAX}"` })}
${field('password', 'Password', {
  type: 'password',
  ...(isNew ? { hint: `At least ${PASSWORD_MIN} characters.` } : {}),
  error: errorFor(state, 'password'),
  autocomplete: isNew ? 'new-password' : 'current-password',
  attrs: `maxlength="${PASSWORD_MAX}"${isNew ? ` minlength="${PASSWORD_MIN}"` : ''}`,
})}
<div class="actions"><button type="submit">${button}</button></div></form>`;
}

export const loginPage = (ctx: PageContext, state: FormState = {}) =>
  layout(
    'Log in',
    ctx,
    html`${credentialsForm('/login', 'Log in', ctx, state, false)}<p class="aside">No account yet? <a href="/register">Create one</a>.</p>`,
  );

export const registerPage = (ctx: PageContext, state: FormState = {}) =>
  layout(
    'Register',
    ctx,
    html`${credentialsForm('/register', 'Create account', ctx, state, true)}
<p class="aside">Already registered? <a href="/login">Log in</a>.</p>`,
  );

/** Each product's row around its quantity, built once: the cart page is the most viewed page. */
const CART_ROWS = PRODUCTS.map((p) => {
  const cell = html`<th scope="row">${p.name}</th><td class="num" data-product="${p.id}">`.text;
  return { id: p.id, some: `<tr>${cell}`, none: `<tr class="zero">${cell}` };
});

export function cartPage(ctx: PageContext, cart: Cart, stale: boolean): string {
  let total = 0;
  let rows = '';
  for (const row of CART_ROWS) {
    const n = cart[row.id] ?? 0;
    total += n;
    rows += `${n ? row.some : row.none}${n}</td></tr>`;
  }
  return layout(
    'Your cart',
    ctx,
    html`<p>Cart of <strong class="email">${ctx.email}</strong>: <span data-total="${total}">${total} item${total === 1 ? '' : 's'}</span>.</p>
${stale ? html`<p class="notice warn" role="status">Served from a replica while the master is being replaced.</p>` : ''}
<table class="cart"><thead><tr><th scope="col">Product</th><th scope="col" class="num">Quantity</th></tr></thead><tbody>${new Html(rows)}</tbody>
<tfoot><tr><th scope="row">Total</th><td class="num">${total}</td></tr></tfoot></table>
<p class="actions"><a class="button" href="/add">Edit quantities</a> <a class="button secondary" href="/delete">Empty the cart</a></p>`,
  );
}

/**
 * The quantity form; `typed` holds what the person sent when the form comes back with an error,
 * so nothing they typed is lost.
 */
export function addPage(
  ctx: PageContext,
  cart: Cart,
  error?: { field: string; message: string },
  typed?: Record<string, unknown>,
): string {
  const inputs = PRODUCTS.map((p) => {
    const name = `qty_${p.id}`;
    const sent = typed?.[name];
    return field(name, p.name, {
      type: 'number',
      value: typeof sent === 'string' ? sent : String(cart[p.id] ?? 0),
      error: error?.field === name ? inWords(error.message, name, p.name) : undefined,
      attrs: 'min="0" max="99" step="1" inputmode="numeric"',
    });
  });
  const general =
    error && !error.field.startsWith('qty_') ? html`<p class="error" role="alert">${error.message}</p>` : '';
  return layout(
    'Edit cart',
    ctx,
    html`<form method="post" action="/add" novalidate class="grid"><input type="hidden" name="_csrf" value="${ctx.csrf}">
${general}${inputs}<p class="actions"><button type="submit">Save cart</button> <a class="button secondary" href="/get">Cancel</a></p></form>`,
  );
}

export const deletePage = (ctx: PageContext) =>
  layout(
    'Empty the cart',
    ctx,
    html`<p>Remove every product from the cart of <strong>${ctx.email}</strong>?</p>
<form method="post" action="/delete"><input type="hidden" name="_csrf" value="${ctx.csrf}">
<p class="actions"><button type="submit" class="danger">Empty the cart</button> <a class="button secondary" href="/get">Keep it</a></p></form>`,
  );

export const errorPage = (ctx: PageContext, status: number, message: string) =>
  layout(
    status >= 500 ? 'Temporarily unavailable' : 'Something is wrong',
    ctx,
    html`<p class="error" role="alert">${message}</p>
<p><a href="/">Back to the start</a></p>`,
  );
