import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's chromium (installed by scripts/test.sh): no browser is downloaded. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: run scripts/test.sh (it installs chromium) or set CHROMIUM_PATH`,
    );
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/** Empties the screenshot folder of one test file (the folder is git-ignored). */
export function screenshotDir(prefix: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  rmSync(join(SCREENSHOTS, prefix), { recursive: true, force: true });
  mkdirSync(join(SCREENSHOTS, prefix), { recursive: true });
  return join(SCREENSHOTS, prefix);
}

/** A browser context that saves a numbered full-page screenshot of each page it is asked to. */
export class Person {
  private shots = 0;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly dir: string,
    private readonly tag: string,
  ) {}

  static async open(
    browser: Browser,
    baseURL: string,
    dir: string,
    tag: string,
    viewport = { width: 1100, height: 760 },
    /** A login the browser gives when a site asks for one (HTTP basic auth). */
    httpCredentials?: { username: string; password: string },
  ): Promise<Person> {
    const context = await browser.newContext({
      baseURL,
      viewport,
      deviceScaleFactor: 1,
      ...(httpCredentials ? { httpCredentials } : {}),
    });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    return new Person(context, page, dir, tag);
  }

  async shot(name: string): Promise<string> {
    const file = join(this.dir, `${this.tag}-${String(++this.shots).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
