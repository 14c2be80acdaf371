/**
 * A real headless browser for page tests: Debian's chromium (`apt-get install -y chromium`),
 * driven by playwright-core with its `executablePath` — nothing here downloads a browser.
 * The flags keep Chromium off the network it would otherwise call at start (this machine has none).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = [process.env.PALISADE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  Boolean,
) as string[];

export function chromiumPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error('no chromium found: apt-get install -y chromium (or set PALISADE_CHROMIUM)');
  return found;
}

export interface DashboardPage {
  readonly page: Page;
  /** Polls `predicate` in the page until true; fails after `timeoutMs` naming `what`. */
  waitFor<A>(predicate: (arg: A) => boolean, what: string, arg?: A, timeoutMs?: number): Promise<void>;
  eval<T>(fn: () => T): Promise<T>;
  /** Saves a PNG under PALISADE_SCREENSHOT_DIR (default: the OS temp dir); returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openDashboard(url: string): Promise<DashboardPage> {
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
    return {
      page,
      async waitFor(predicate, what, arg, timeoutMs = 20_000) {
        try {
          await page.waitForFunction(predicate as never, arg as never, { timeout: timeoutMs, polling: 100 });
        } catch (err) {
          throw new Error(`dashboard: timed out waiting for ${what}: ${(err as Error).message.split('\n')[0]}`);
        }
      },
      eval: (fn) => page.evaluate(fn),
      async screenshot(name) {
        const dir = process.env.PALISADE_SCREENSHOT_DIR ?? tmpdir();
        mkdirSync(dir, { recursive: true });
        const path = join(dir, name);
        await page.screenshot({ path, fullPage: true });
        return path;
      },
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
