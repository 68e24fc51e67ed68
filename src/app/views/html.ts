const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A string already escaped, safe to place in a page as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const escapeHtml = (v: unknown): string => String(v).replace(/[&<>"']/g, (c) => ESC[c]!);

/** Tagged template: interpolated values are escaped unless they are Html (or arrays of Html). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    if (v instanceof Html) out += v.text;
    else if (Array.isArray(v)) out += v.map((x) => (x instanceof Html ? x.text : escapeHtml(x))).join('');
    else if (v !== undefined && v !== null && v !== false) out += escapeHtml(v);
    out += strings[i + 1]!;
  });
  return new Html(out);
}

export interface PageContext {
  instance: string;
  email: string | null;
  /** CSRF token for the forms of this page (the logout button among them). */
  csrf: string;
  notice?: string | undefined;
}

export function layout(title: string, ctx: PageContext, body: Html): string {
  const who = ctx.email
    ? html`<span class="who">Signed in as <strong>${ctx.email}</strong></span>
        <form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf}">
        <button type="submit" class="link">Log out</button></form>`
    : html`<a href="/login">Log in</a> <a href="/register">Register</a>`;
  const nav = ctx.email
    ? html`<nav aria-label="Cart"><a href="/get">Cart</a><a href="/add">Edit cart</a><a href="/delete">Empty cart</a><a href="/topology">Topology</a></nav>`
    : html`<nav aria-label="Site"><a href="/topology">Topology</a></nav>`;
  const notice = ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · redis-ha-stack</title><link rel="stylesheet" href="/static/app.css"></head>
<body><header><a class="brand" href="/">redis-ha-stack</a>${nav}<div class="account">${who}</div>
<span class="instance" title="App instance that served this page">served by <code>${ctx.instance}</code></span></header>
<main><h1>${title}</h1>${notice}${body}</main></body></html>`.text;
}

export function field(
  name: string,
  label: string,
  opts: { type?: string; value?: string; error?: string | undefined; autocomplete?: string; attrs?: string },
): Html {
  const id = `f-${name}`;
  const err = opts.error ? html`<span class="error" id="${id}-error">${opts.error}</span>` : '';
  const described = opts.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : '';
  return html`<div class="field"><label for="${id}">${label}</label>
<input id="${id}" name="${name}" type="${opts.type ?? 'text'}" value="${opts.value ?? ''}"${
    opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : ''
  }${opts.attrs ? new Html(` ${opts.attrs}`) : ''}${described} required>${err}</div>`;
}
