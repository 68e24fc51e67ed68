import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, field, Html, html, layout } from '../../src/app/views/html.ts';
import { cartPage, errorPage, loginPage } from '../../src/app/views/pages.ts';

const signedIn = (email: string, csrf: string, extra: Record<string, string> = {}) => ({
  instance: 'app-1',
  email,
  csrf,
  path: '/get',
  ...extra,
});
const cart = (keyboard: number, mouse: number) => ({
  keyboard,
  mouse,
  monitor: 0,
  headset: 0,
  webcam: 0,
  dock: 0,
});

describe('pages', () => {
  it('gives each cart page its own user, token and quantities (parts built once are shared)', () => {
    const first = cartPage(signedIn('ann@example.org', 'token-ann'), cart(2, 0), false);
    const second = cartPage(signedIn('bob<b>@example.org', 'token-bob'), cart(0, 1), false);
    assert.match(first, /Signed in as <strong data-user>ann@example\.org<\/strong>/);
    assert.match(first, /name="_csrf" value="token-ann"/);
    assert.match(
      first,
      /<tr><th scope="row">Mechanical keyboard<\/th><td class="num" data-product="keyboard">2</,
    );
    assert.match(
      first,
      /<tr class="zero"><th scope="row">Wireless mouse<\/th><td class="num" data-product="mouse">0</,
    );
    assert.match(first, /<span data-total="2">2 items<\/span>/);
    assert.match(second, /bob&lt;b&gt;@example\.org/);
    assert.match(second, /name="_csrf" value="token-bob"/);
    assert.match(second, /data-product="mouse">1</);
    assert.match(second, /<span data-total="1">1 item<\/span>/);
    for (const other of ['ann@', 'token-ann', 'bob<b>']) assert.ok(!second.includes(other), other);
    assert.equal(first.match(/<tr[ >]/g)?.length, 1 + 6 + 1, 'header row, six products, total');
  });

  it('shows the notice and the replica warning only when there is one', () => {
    const plain = cartPage(signedIn('ann@example.org', 't'), cart(1, 1), false);
    const both = cartPage(
      signedIn('ann@example.org', 't', { notice: 'Cart saved & sound.' }),
      cart(1, 1),
      true,
    );
    assert.ok(!plain.includes('class="notice'));
    assert.match(both, /<p class="notice" role="status">Cart saved &amp; sound\.<\/p>/);
    assert.match(both, /Served from a replica/);
  });

  it('marks the current page in the navigation, and no link for any other path', () => {
    const anon = { instance: 'app-2', email: null, csrf: 'x' };
    assert.match(loginPage({ ...anon, path: '/login' }), /<a href="\/login" aria-current="page">Log in<\/a>/);
    const cartView = cartPage(signedIn('ann@example.org', 't'), cart(1, 0), false);
    assert.match(cartView, /<a href="\/get" aria-current="page">Cart<\/a><a href="\/add">Edit cart<\/a>/);
    const pages = ['/nowhere', '/x"><script>', '/login/', ''].map((path) =>
      errorPage({ ...anon, path }, 404, 'no'),
    );
    for (const page of pages) {
      assert.ok(!page.includes('aria-current'), page);
      assert.equal(page, pages[0]);
    }
    assert.match(errorPage({ ...anon, path: '/a' }, 503, 'later'), /<title>Temporarily unavailable &middot;/);
  });
});

describe('escapeHtml', () => {
  it('escapes the five special characters, each of them everywhere', () => {
    assert.equal(
      escapeHtml(`<a href="x">Tom & Jerry's</a>`),
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;',
    );
    assert.equal(escapeHtml('&&<<>>""\'\''), '&amp;&amp;&lt;&lt;&gt;&gt;&quot;&quot;&#39;&#39;');
    assert.equal(escapeHtml('&amp;'), '&amp;amp;', 'an entity is escaped again: values are text');
  });

  it('leaves plain text alone and turns any value into text', () => {
    assert.equal(escapeHtml('ann@example.org'), 'ann@example.org');
    assert.equal(escapeHtml(''), '');
    assert.equal(escapeHtml(42), '42');
    assert.equal(escapeHtml(null), 'null');
    assert.equal(escapeHtml({ toString: () => '<b>' }), '&lt;b&gt;');
  });
});

describe('html template', () => {
  it('escapes values, keeps Html as is, and drops undefined, null and false', () => {
    const out = html`<p>${'<i>'}|${new Html('<b>ok</b>')}|${undefined}|${null}|${false}|${0}|${3.5}|${true}</p>`;
    assert.ok(out instanceof Html);
    assert.equal(out.text, '<p>&lt;i&gt;|<b>ok</b>||||0|3.5|true</p>');
    assert.equal(String(out), out.text);
    assert.equal(`${out}`, out.text);
  });

  it('joins arrays without separator, escaping their strings but not their Html', () => {
    const out = html`<ul>${['<a>', new Html('<li>x</li>'), 'b&c', 7]}</ul>`;
    assert.equal(out.text, '<ul>&lt;a&gt;<li>x</li>b&amp;c7</ul>');
    assert.equal(html`${[]}`.text, '');
  });

  it('keeps every literal part, also around the first and last value', () => {
    assert.equal(html`a${'1'}b${'2'}c`.text, 'a1b2c');
    assert.equal(html`${'x'}`.text, 'x');
    assert.equal(html`plain`.text, 'plain');
  });
});

describe('layout', () => {
  const ctx = { instance: 'app<1>', email: null, csrf: 't', path: '/login' };

  it('frames a signed-out page: title, navigation with the current link, instance and body', () => {
    const page = layout('Log <in>', ctx, html`<p>body</p>`);
    assert.ok(page.startsWith('<!doctype html>'));
    assert.ok(page.endsWith('<p>body</p></main></body></html>'));
    assert.match(page, /<title>Log &lt;in&gt; &middot; redis-ha-stack<\/title>/);
    assert.match(page, /<h1>Log &lt;in&gt;<\/h1>/);
    assert.match(page, /<a href="\/login" aria-current="page">Log in<\/a><a href="\/register">Register<\/a>/);
    assert.match(page, /<code data-instance>app&lt;1&gt;<\/code>/);
    assert.match(page, /<span class="who">Not signed in<\/span>/);
    assert.ok(!page.includes('/logout'));
    assert.ok(!page.includes('/get'));
    assert.match(page, /<main id="main" tabindex="-1"><h1>/);
    assert.ok(!page.includes('class="notice"'));
  });

  it('frames a signed-in page with the logout form, the notice and the wide layout', () => {
    const page = layout(
      'Cart',
      { instance: 'app-2', email: 'a<b>@x', csrf: 'tok"en', path: '/add', notice: 'Saved & done' },
      html`<p>cart</p>`,
      { wide: true },
    );
    assert.match(page, /Signed in as <strong data-user>a&lt;b&gt;@x<\/strong>/);
    assert.match(page, /<input type="hidden" name="_csrf" value="tok&quot;en">/);
    assert.match(page, /<a href="\/get">Cart<\/a><a href="\/add" aria-current="page">Edit cart<\/a>/);
    assert.match(page, /<p class="notice" role="status">Saved &amp; done<\/p><p>cart<\/p>/);
    assert.match(page, /<main id="main" tabindex="-1" class="wide"><h1>Cart<\/h1>/);
    assert.ok(!page.includes('Not signed in'));
    assert.ok(!page.includes('/register'));
  });

  it('marks no link current on a page outside the navigation, and reuses no other frame', () => {
    const other = layout('Other', { ...ctx, path: '/elsewhere' }, html``);
    assert.ok(!other.includes('aria-current'));
    const none = layout('Other', { ...ctx, path: undefined }, html``);
    assert.ok(!none.includes('aria-current'));
    // A signed-in path on a signed-out page is not a link of its navigation either.
    assert.ok(!layout('Other', { ...ctx, path: '/get' }, html``).includes('aria-current'));
    const login = layout('Other', ctx, html``);
    assert.ok(login.includes('aria-current'));
    assert.notEqual(layout('Other', { ...ctx, instance: 'b' }, html``), layout('Other', ctx, html``));
    assert.ok(!layout('Other', ctx, html``, { wide: false }).includes('class="wide"'));
  });
});

describe('field', () => {
  it('renders a plain text field', () => {
    assert.equal(
      field('email', 'Email', {}).text,
      '<div class="field"><label for="f-email">Email</label>\n<input id="f-email" name="email" type="text" value="" required></div>',
    );
  });

  it('renders a field in error with its hint, described by both, and taking the focus', () => {
    const out = field('password', 'Password', {
      type: 'password',
      value: 'a"b',
      error: 'Too <short>',
      hint: 'At least 12',
      autocomplete: 'new-password',
      attrs: 'minlength="12"',
    }).text;
    assert.match(out, /^<div class="field invalid"><label for="f-password">Password<\/label>/);
    assert.match(out, / type="password" value="a&quot;b" autocomplete="new-password" minlength="12"/);
    assert.match(
      out,
      / aria-describedby="f-password-error f-password-hint" aria-invalid="true" autofocus required>/,
    );
    assert.match(
      out,
      /<span class="hint" id="f-password-hint">At least 12<\/span><span class="error" id="f-password-error">Too &lt;short&gt;<\/span><\/div>$/,
    );
  });

  it('describes a field by its hint alone when it is not in error', () => {
    const out = field('email', 'Email', { hint: 'Your address' }).text;
    assert.match(out, / aria-describedby="f-email-hint" required>/);
    assert.ok(!out.includes('aria-invalid'));
    assert.ok(!out.includes('autofocus'));
    assert.ok(!out.includes('invalid'));
    assert.ok(!out.includes('autocomplete'));
  });

  it('describes a field by its error alone when it has no hint', () => {
    const out = field('email', 'Email', { error: 'Required' }).text;
    assert.match(out, / aria-describedby="f-email-error" aria-invalid="true" autofocus required>/);
    assert.ok(!out.includes('class="hint"'));
  });
});
