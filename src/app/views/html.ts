const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A string already escaped, safe to place in a page as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const SPECIAL = /[&<>"']/;

export function escapeHtml(v: unknown): string {
  const s = String(v);
  // Most values (names, numbers, tokens) hold nothing to escape: test before replacing.
  return SPECIAL.test(s) ? s.replace(/[&<>"']/g, (c) => ESC[c]!) : s;
}

/** Tagged template: interpolated values are escaped unless they are Html (or arrays of Html). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v instanceof Html) out += v.text;
    else if (typeof v === 'number') out += v;
    else if (Array.isArray(v)) for (const x of v) out += x instanceof Html ? x.text : escapeHtml(x);
    else if (v !== undefined && v !== null && v !== false) out += escapeHtml(v);
    out += strings[i + 1]!;
  }
  return new Html(out);
}

export interface PageContext {
  instance: string;
  email: string | null;
  /** CSRF token for the forms of this page (the logout button among them). */
  csrf: string;
  notice?: string | undefined;
  /** Path of the page, to mark its link in the navigation. */
  path?: string | undefined;
}

// The topology page is the operator's, on the operator front: the site does not link to it.
const NAV_SIGNED_IN = [
  ['/get', 'Cart'],
  ['/add', 'Edit cart'],
] as const;
const NAV_SIGNED_OUT = [
  ['/login', 'Log in'],
  ['/register', 'Register'],
] as const;

/** The link of the navigation that names the current page, or '' (any other path). */
function currentLink(signedIn: boolean, path: string | undefined): string {
  const links = signedIn ? NAV_SIGNED_IN : NAV_SIGNED_OUT;
  return links.some(([href]) => href === path) ? (path as string) : '';
}

function nav(signedIn: boolean, current: string): Html {
  const links = signedIn ? NAV_SIGNED_IN : NAV_SIGNED_OUT;
  return html`${links.map(([href, text]) =>
    href === current
      ? html`<a href="${href}" aria-current="page">${text}</a>`
      : html`<a href="${href}">${text}</a>`,
  )}`;
}

/**
 * The parts of a page around the account box and the body: the same for every view of a kind of
 * page (title, navigation, instance), so they are built once, not on every request. The key holds
 * no part of the request beyond which link is current: titles are the views' own, a fixed few.
 */
const frames = new Map<string, readonly [string, string]>();
const FRAMES_MAX = 256;

function frame(title: string, ctx: PageContext, wide: boolean): readonly [string, string] {
  const signedIn = ctx.email !== null;
  const current = currentLink(signedIn, ctx.path);
  const key = `${title}\u0000${signedIn}\u0000${current}\u0000${ctx.instance}\u0000${wide}`;
  let parts = frames.get(key);
  if (!parts) {
    // Plain ASCII throughout (an entity, not the character, for the dot): a string with any other
    // character takes a slower path when it is written to the socket.
    parts = [
      html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} &middot; redis-ha-stack</title><link rel="stylesheet" href="/static/app.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><div class="bar"><a class="brand" href="/">redis-ha-stack</a><nav aria-label="Main">${nav(signedIn, current)}</nav>
<div class="account">`.text,
      html`</div></div>
<p class="instance">Page served by <code data-instance>${ctx.instance}</code></p></header>
<main id="main" tabindex="-1"${wide ? html` class="wide"` : ''}><h1>${title}</h1>`.text,
    ];
    if (frames.size < FRAMES_MAX) frames.set(key, parts);
  }
  return parts;
}

export function layout(title: string, ctx: PageContext, body: Html, opts: { wide?: boolean } = {}): string {
  const [top, middle] = frame(title, ctx, opts.wide === true);
  const who = ctx.email
    ? html`<span class="who">Signed in as <strong data-user>${ctx.email}</strong></span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit" class="quiet">Log out</button></form>`
    : html`<span class="who">Not signed in</span>`;
  const notice = ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>`.text : '';
  return `${top}${who.text}${middle}${notice}${body.text}</main></body></html>`;
}

export function field(
  name: string,
  label: string,
  opts: {
    type?: string;
    value?: string;
    error?: string | undefined;
    hint?: string;
    autocomplete?: string;
    attrs?: string;
  },
): Html {
  const id = `f-${name}`;
  const err = opts.error ? html`<span class="error" id="${id}-error">${opts.error}</span>` : '';
  const hint = opts.hint ? html`<span class="hint" id="${id}-hint">${opts.hint}</span>` : '';
  const describedBy = [opts.error ? `${id}-error` : '', opts.hint ? `${id}-hint` : '']
    .filter((x) => x)
    .join(' ');
  // The first field in error takes the focus, so a keyboard user lands where the fix is needed.
  const state = html`${describedBy ? html` aria-describedby="${describedBy}"` : ''}${opts.error ? html` aria-invalid="true" autofocus` : ''}`;
  return html`<div class="field${opts.error ? ' invalid' : ''}"><label for="${id}">${label}</label>
<input id="${id}" name="${name}" type="${opts.type ?? 'text'}" value="${opts.value ?? ''}"${
    opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : ''
  }${opts.attrs ? new Html(` ${opts.attrs}`) : ''}${state} required>${hint}${err}</div>`;
}
