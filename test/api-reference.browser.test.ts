/**
 * The interactive reference at /external-api/v1.0/docs, driven in a real headless Chromium
 * (Debian's chromium package, through playwright-core): the page lists every operation of
 * the served description, loads nothing from outside this server, and a "Try it out" call
 * shows the server's real answer. A screenshot is kept in test-output/ for a human to look at.
 *
 * Without /usr/bin/chromium the file is skipped with a notice, unless REQUIRE_BROWSER=1
 * (as CI sets it after installing the package): then its absence fails the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, useServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && process.env.REQUIRE_BROWSER === '1') throw new Error(`${CHROMIUM} is missing and REQUIRE_BROWSER=1: install Debian's chromium package`);
if (!available) console.warn(`[api-reference.browser.test] skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

const OUTPUT = path.resolve('test-output');

describe.skipIf(!available)('the API reference page in Chromium', () => {
  const server = useServer();
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  });
  afterAll(async () => browser?.close());

  it('lists every operation, fetches nothing from outside, and "Execute" shows the server\'s real answers', async () => {
    const description = await (await fetch(`${server.origin}${API}/openapi.json`)).json();
    const operationIds = Object.values<Record<string, { operationId: string }>>(description.paths).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );
    expect(operationIds.length).toBeGreaterThanOrEqual(8);

    const page = await browser.newPage({ viewport: { width: 1280, height: 2400 } });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const loaded = await page.goto(`${server.origin}${API}/docs`);
    expect(loaded?.status()).toBe(200);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    const shown = await page.locator('.opblock-summary-operation-id').allTextContents();
    expect(new Set(shown)).toEqual(new Set(operationIds));

    // The page opens with "Try it out" on: an operation's Execute button calls this server.
    const execute = async (operation: string) => {
      const block = page.locator(`#operations-${operation}`);
      await block.locator('.opblock-summary').click();
      await block.getByRole('button', { name: 'Execute' }).click();
      const status = block.locator('.live-responses-table .response .response-col_status').first();
      await expect.poll(() => status.textContent(), { timeout: 10_000 }).toMatch(/\d{3}/);
      const body = await block.locator('.live-responses-table .response-col_description .microlight').first().textContent();
      return { status: Number((await status.textContent())?.trim()), body: JSON.parse(body ?? '') };
    };
    expect(await execute('Operations-healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    // The token request as the page fills it in (the description's example credentials): the server's own refusal.
    expect(await execute('Authentication-generateToken')).toEqual({ status: 401, body: { error: 'Invalid credentials' } });

    fs.mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'api-reference.png'), fullPage: false });

    expect(pageErrors).toEqual([]);
    expect(requested.filter((url) => !url.startsWith(server.origin) && !url.startsWith('data:'))).toEqual([]);
    expect(requested).toContain(`${server.origin}/healthz`);
    expect(requested).toContain(`${server.origin}${API}/application/token/`);
    await page.close();
  });
});
