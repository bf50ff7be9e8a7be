import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.LOOPTOOL_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and other browser-test outputs (gitignored). */
export const ARTIFACTS = resolve('test-artifacts', 'view');

// Flags that keep Debian's chromium headless, sandbox-free as root, and off the network.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-default-browser-check',
];

export type Browser = { context: BrowserContext; page: Page; external: string[]; consoleErrors: string[]; close(): Promise<void> };

/**
 * Launches Debian's chromium through playwright-core with a fresh profile. Every
 * request that leaves 127.0.0.1 is aborted and recorded, so a test can assert that
 * the page fetched nothing from outside.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run setup\` as root (it installs Debian's chromium for the tests) or set LOOPTOOL_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'looptool-chromium-'));
  // playwright passes --user-data-dir=<profile> itself for a persistent context.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 1000 },
    timeout: 60_000,
  });
  const external: string[] = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if ((u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ws:') && u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') {
      external.push(u.href);
      return route.abort();
    }
    return route.continue();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    external,
    consoleErrors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
