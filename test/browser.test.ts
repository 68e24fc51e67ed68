// Over 300 lines: one browser and one stack started once for every page flow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { PRODUCTS } from '../src/app/products.ts';
import { waitForMaster } from '../src/ops/observe.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { launchBrowser, Person, screenshotDir } from './helpers/browser.ts';
import { startTestStack } from './helpers/stack.ts';

// One stack and one browser for the whole file, reached only through HAProxy, as a person would.
let stack: Stack | undefined;
let browser: Browser | undefined;
let shots: string;
const PASSWORD = 'browser-pass-1';
let n = 0;
const newEmail = (tag: string) => `${tag}-${Date.now().toString(36)}-${++n}@example.org`;

before(async () => {
  shots = screenshotDir('browser');
  stack = await startTestStack('browser');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.stop();
});

const open = (tag: string, viewport?: { width: number; height: number }) =>
  Person.open(browser!, stack!.frontUrl, shots, tag, viewport);

/** The operator, on HAProxy's operator front (the topology page), logged in as `operator`. */
const openOperator = (tag: string, viewport: { width: number; height: number }) =>
  Person.open(browser!, new URL('/', stack!.statsUrl).href, shots, tag, viewport, {
    username: 'operator',
    password: stack!.operatorPassword,
  });

const fitsWidth = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

async function typeInto(page: Page, label: string, text: string): Promise<void> {
  const input = page.getByLabel(label, { exact: true });
  await input.clear();
  await input.pressSequentially(text);
}

/** The page's status message (shown after each action). */
const notice = (page: Page) => page.locator('main .notice').textContent();

async function register(p: Person, email: string): Promise<void> {
  await p.page.goto('/register');
  await typeInto(p.page, 'Email', email);
  await typeInto(p.page, 'Password', PASSWORD);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await p.page.waitForURL('**/get?m=welcome');
}

describe('the pages in a real browser, through HAProxy', () => {
  it('register, taken email, wrong password, log in, edit and empty the cart, log out', async () => {
    const p = await open('journey');
    const { page } = p;
    const email = newEmail('journey');
    try {
      await page.goto('/register');
      assert.equal(await page.title(), 'Register · redis-ha-stack');
      assert.match(String(await page.locator('[data-instance]').textContent()), /^app-[12]$/);
      await typeInto(page, 'Email', email);
      await typeInto(page, 'Password', PASSWORD);
      await p.shot('register-filled');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL('**/get?m=welcome');
      assert.match(String(await notice(page)), /Welcome/);
      assert.equal(await page.locator('[data-user]').textContent(), email);
      assert.equal(await page.locator('[data-total]').getAttribute('data-total'), '0');
      await p.shot('cart-empty');

      await page.getByRole('link', { name: 'Edit quantities' }).click();
      await page.waitForURL('**/add');
      for (const [i, product] of PRODUCTS.entries()) await typeInto(page, product.name, String(i));
      await typeInto(page, PRODUCTS[1]!.name, '-3');
      await page.getByRole('button', { name: 'Save cart' }).click();
      // The error stands next to its field, which has the focus; the other values are not lost.
      const bad = page.locator(`#f-qty_${PRODUCTS[1]!.id}`);
      assert.equal(await bad.getAttribute('aria-invalid'), 'true');
      assert.match(String(await page.locator(`#f-qty_${PRODUCTS[1]!.id}-error`).textContent()), /\S/);
      assert.equal(await page.evaluate(() => document.activeElement?.id), `f-qty_${PRODUCTS[1]!.id}`);
      await p.shot('edit-error');
      await typeInto(page, PRODUCTS[1]!.name, '7');
      for (const [i, product] of PRODUCTS.entries())
        if (i !== 1) await typeInto(page, product.name, String(i + 1));
      await page.getByRole('button', { name: 'Save cart' }).click();
      await page.waitForURL('**/get?m=saved');
      assert.equal(await notice(page), 'Cart saved.');
      assert.equal(await page.locator(`[data-product="${PRODUCTS[1]!.id}"]`).textContent(), '7');
      assert.equal(await page.locator(`[data-product="${PRODUCTS[5]!.id}"]`).textContent(), '6');
      await p.shot('cart-saved');

      await page.getByRole('link', { name: 'Empty the cart' }).click();
      await page.waitForURL('**/delete');
      await p.shot('delete-confirm');
      await page.getByRole('button', { name: 'Empty the cart' }).click();
      await page.waitForURL('**/get?m=emptied');
      assert.equal(await notice(page), 'The cart is empty now.');
      assert.equal(await page.locator('[data-total]').getAttribute('data-total'), '0');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL('**/login?m=out');
      assert.equal(await notice(page), 'You are logged out.');
      assert.equal(await page.locator('[data-user]').count(), 0);

      await typeInto(page, 'Email', email.toUpperCase());
      await typeInto(page, 'Password', 'not-my-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      const wrong = page.locator('#f-password-error');
      await wrong.waitFor();
      assert.equal(await wrong.textContent(), 'Wrong email or password');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-password');
      assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email.toUpperCase());
      await p.shot('login-wrong-password');

      await typeInto(page, 'Password', PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL('**/get?m=in');
      assert.equal(await notice(page), 'You are logged in.');
      assert.equal(await page.locator('[data-user]').textContent(), email);

      // Someone else tries the same address.
      const other = await open('taken-email');
      try {
        await other.page.goto('/register');
        await typeInto(other.page, 'Email', email);
        await typeInto(other.page, 'Password', PASSWORD);
        await other.page.getByRole('button', { name: 'Create account' }).click();
        const error = other.page.locator('#f-email-error');
        await error.waitFor();
        assert.match(String(await error.textContent()), /already registered/);
        assert.equal(
          await other.page.getByLabel('Email', { exact: true }).getAttribute('aria-invalid'),
          'true',
        );
        await other.shot('register-taken');
      } finally {
        await other.close();
      }
    } finally {
      await p.close();
    }
  });

  it('logs in with the keyboard only (Tab, type, Enter), with a visible focus', async () => {
    const setup = await open('keyboard-setup');
    const email = newEmail('keys');
    await register(setup, email);
    await setup.close();

    const p = await open('keyboard');
    const { page } = p;
    try {
      await page.goto('/login');
      const focused = () =>
        page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          const style = el ? getComputedStyle(el) : null;
          return { id: el?.id ?? '', tag: el?.tagName ?? '', outline: style ? style.outlineStyle : 'none' };
        });
      let presses = 0;
      for (; presses < 15 && (await focused()).id !== 'f-email'; presses++) {
        await page.keyboard.press('Tab');
        const f = await focused();
        if (f.tag === 'A' || f.tag === 'INPUT')
          assert.notEqual(f.outline, 'none', `no visible focus on ${f.tag}`);
      }
      assert.equal((await focused()).id, 'f-email', `Tab never reached the email field (${presses} presses)`);
      await page.keyboard.type(email);
      await page.keyboard.press('Tab');
      assert.equal((await focused()).id, 'f-password');
      await page.keyboard.type(PASSWORD);
      await p.shot('login-keyboard');
      await page.keyboard.press('Enter');
      await page.waitForURL('**/get?m=in');
      assert.equal(await page.locator('[data-user]').textContent(), email);
      await p.shot('cart-after-keyboard-login');
    } finally {
      await p.close();
    }
  });

  it('reads well on a phone-sized screen', async () => {
    const p = await open('phone', { width: 375, height: 740 });
    const { page } = p;
    try {
      await register(p, newEmail('phone'));
      const fits = () => fitsWidth(page);
      assert.ok(await fits(), 'the cart page scrolls sideways on a phone');
      await p.shot('cart');
      await page.goto('/add');
      assert.ok(await fits(), 'the edit page scrolls sideways on a phone');
      await p.shot('edit');
      // The site does not show the operator's view.
      assert.equal((await page.goto('/topology'))?.status(), 404);
    } finally {
      await p.close();
    }
    const op = await openOperator('phone-topology', { width: 375, height: 740 });
    try {
      await op.page.goto('/topology');
      await op.page.locator('#live-status[data-state="live"]').waitFor();
      assert.ok(await fitsWidth(op.page), 'the topology page scrolls sideways on a phone');
      await op.shot('topology');
    } finally {
      await op.close();
    }
  });

  it('after the master is killed: the topology page shows the election live, the cart is still there', async (t) => {
    const shopper = await open('failover-cart');
    const watcher = await openOperator('failover-topology', { width: 1280, height: 900 });
    try {
      const email = newEmail('failover');
      await register(shopper, email);
      await shopper.page.goto('/add');
      await typeInto(shopper.page, PRODUCTS[2]!.name, '4');
      await shopper.page.getByRole('button', { name: 'Save cart' }).click();
      await shopper.page.waitForURL('**/get?m=saved');

      const page = watcher.page;
      await page.goto('/topology');
      await page.locator('#live-status[data-state="live"]').waitFor();
      // The page is live: wait (up to 10 s) until it shows the whole stack, then check it in detail.
      await page.waitForFunction(
        () =>
          document.querySelectorAll('tr[data-role="replica"]').length === 2 &&
          document.querySelectorAll('tr[data-sentinel]').length === 3 &&
          document.querySelectorAll('tr[data-server^="app-"][data-ready="true"]').length === 2,
        undefined,
        { timeout: 10_000 },
      );
      const master = await page.locator('[data-master]').getAttribute('data-master');
      const known = await stack!.currentMaster();
      assert.equal(master, known?.name);
      assert.equal(await page.locator(`tr[data-node="${master}"]`).getAttribute('data-role'), 'master');
      assert.equal(await page.locator('tr[data-role="replica"]').count(), 2);
      assert.equal(await page.locator('tr[data-sentinel]').count(), 3);
      assert.equal(await page.locator('tr[data-server^="app-"][data-ready="true"]').count(), 2);
      await watcher.shot('before');
      // Anything that reloads the page loses this mark.
      await page.evaluate(() => {
        (window as unknown as { mark: number }).mark = 1;
      });

      const killedAt = Date.now();
      await stack!.kill(master!);
      await page.locator(`tr[data-node="${master}"][data-role="down"]`).waitFor();
      const downShownMs = Date.now() - killedAt;
      await watcher.shot('master-down');
      const changed = await page.waitForFunction(
        (old) => {
          const m = document.querySelector('[data-master]')?.getAttribute('data-master');
          return m && m !== old ? m : null;
        },
        master,
        { timeout: 30_000 },
      );
      const newMaster = String(await changed.jsonValue());
      const newMasterShownMs = Date.now() - killedAt;
      await page.locator(`tr[data-node="${newMaster}"][data-role="master"]`).waitFor();
      await page.locator('li[data-type="+switch-master"]').waitFor();
      await watcher.shot('new-master');
      assert.equal(
        await page.evaluate(() => (window as unknown as { mark?: number }).mark),
        1,
        'page reloaded',
      );

      const timeline = await page
        .locator('.timeline li')
        .evaluateAll((items) => items.map((li) => `${li.getAttribute('data-type')} ${li.textContent}`));
      const at = (re: RegExp) => timeline.findIndex((line) => re.test(line));
      const order = [
        at(new RegExp(`^down .*${master} does not answer`)),
        at(new RegExp(`^\\+sdown .*master ${master}`)),
        at(/^\+odown /),
        at(new RegExp(`^\\+switch-master .*new master ${newMaster}`)),
      ];
      assert.ok(
        order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)),
        `timeline out of order ${order.join(',')}:\n${timeline.join('\n')}`,
      );

      // Writes go to the new master once every Sentinel names it; the session was replicated.
      await waitForMaster(stack!.topology, stack!, (m) => m.name === newMaster);
      await shopper.page.goto('/get');
      assert.match(shopper.page.url(), /\/get$/, 'sent to the login page after the failover');
      assert.equal(await shopper.page.locator('[data-user]').textContent(), email);
      assert.equal(await shopper.page.locator(`[data-product="${PRODUCTS[2]!.id}"]`).textContent(), '4');
      await shopper.shot('cart-after-failover');
      t.diagnostic(`topology page: old master shown down after ${downShownMs} ms`);
      t.diagnostic(`topology page: new master ${newMaster} shown ${newMasterShownMs} ms after the kill`);
    } finally {
      await watcher.close();
      await shopper.close();
    }
  });
});
