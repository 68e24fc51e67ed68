import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { addPage, cartPage, errorPage } from '../../src/app/views/pages.ts';
import { UserAgent } from '../../src/tools/loadgen/http.ts';
import { formEncode, formToken, parseCartPage } from '../../src/tools/loadgen/page.ts';

const ctx = (email: string | null) => ({ instance: 'app-1', email, csrf: 'tok.en/x+y=', path: '/get' });

describe('what the browser-shaped load reads on a page', () => {
  it('reads the quantities, the email and the form token of the cart page the app renders', () => {
    const html = cartPage(ctx('a&b@x.test'), { keyboard: 3, mouse: 0, monitor: 12, dock: 99 }, false);
    const view = parseCartPage(html);
    assert.deepEqual(view, {
      email: 'a&b@x.test',
      items: { keyboard: 3, mouse: 0, monitor: 12, headset: 0, webcam: 0, dock: 99 },
      csrf: 'tok.en/x+y=',
      fromReplica: false,
    });
  });

  it('notices a page served from a replica', () => {
    assert.equal(parseCartPage(cartPage(ctx('a@x.test'), { mouse: 1 }, true))?.fromReplica, true);
  });

  it('takes no other page for a cart page, nor one cut short', () => {
    const full = cartPage(ctx('a@x.test'), { mouse: 4, dock: 2 }, false);
    assert.equal(parseCartPage(addPage(ctx('a@x.test'), { mouse: 4 })), null);
    assert.equal(parseCartPage(errorPage(ctx(null), 503, 'no master')), null);
    assert.equal(parseCartPage(full.slice(0, full.indexOf('data-product="dock"'))), null);
    // Rows that do not add up to the printed total are not a page the app rendered.
    assert.equal(parseCartPage(full.replace('data-product="mouse">4<', 'data-product="mouse">5<')), null);
  });

  it('finds the token of a form and encodes a form as a browser does', () => {
    assert.equal(formToken(addPage(ctx('a@x.test'), {})), 'tok.en/x+y=');
    assert.equal(formEncode({ _csrf: 'a+b/c=', qty_mouse: 3 }), '_csrf=a%2Bb%2Fc%3D&qty_mouse=3');
  });
});

describe("a load user's connection", () => {
  let server: Server;
  let base = '';
  const sockets = new Set<unknown>();
  const seen: IncomingMessage[] = [];
  let dropNext = false;

  before(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      sockets.add(req.socket);
      if (dropNext && req.url === '/drop') {
        // The connection closes under a request that went out on a kept-alive socket.
        dropNext = false;
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string | string[]> = {};
      if (req.url === '/login')
        headers['set-cookie'] = ['sid=abc.def.ghi; Path=/; HttpOnly', 'csrf=n1; Path=/'];
      if (req.url === '/logout') headers['set-cookie'] = 'sid=; Path=/; Max-Age=0';
      res.writeHead(200, headers).end(`cookie: ${req.headers.cookie ?? ''}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('keeps one connection, sends its cookies back and forgets a cookie the site expires', async () => {
    const ua = new UserAgent(base);
    sockets.clear();
    try {
      await ua.send('GET', '/login');
      const a = await ua.send('GET', '/get');
      assert.equal(a.text, 'cookie: sid=abc.def.ghi; csrf=n1');
      await ua.send('GET', '/logout');
      const b = await ua.send('GET', '/get');
      assert.equal(b.text, 'cookie: csrf=n1');
      assert.equal(sockets.size, 1, 'every request on the one kept-alive connection');
    } finally {
      ua.close();
    }
  });

  it('sends a request once more on a fresh connection when its kept-alive one closed under it', async () => {
    const ua = new UserAgent(base);
    try {
      assert.equal((await ua.send('GET', '/first')).status, 200);
      dropNext = true;
      const before = seen.length;
      const again = await ua.send('POST', '/drop', { 'content-type': 'text/plain' }, 'x');
      assert.equal(again.status, 200);
      assert.equal(again.resent, true);
      assert.equal(seen.length - before, 2, 'the server saw the request twice');
      // A request that fails on a fresh connection is not resent.
      server.closeAllConnections();
      const nobody = new UserAgent('http://127.0.0.1:1');
      const refused = await nobody.send('GET', '/');
      nobody.close();
      assert.equal(refused.status, 0);
      assert.equal(refused.resent, false);
      assert.equal(refused.error, 'ECONNREFUSED');
    } finally {
      ua.close();
    }
  });
});
