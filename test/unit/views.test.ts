import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
