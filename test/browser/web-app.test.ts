// The web app in a real browser (headless Chromium through playwright-core) against a real
// server with the engine and the demo tenant: the shopper flow from photo to downloaded
// result, an outfit rule refused with its message, the catalog flow from upload to READY,
// and a phone-sized screen. Screenshots of each step go to test-artifacts/screenshots/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server';
import { projectRoot } from '../../src/common/project-paths';

const SCREENSHOTS = join(projectRoot, 'test-artifacts', 'screenshots');
const WEB_DIST = join(projectRoot, 'dist', 'web', 'index.html');
const samples = join(projectRoot, 'models', 'tryon-tiny', 'samples');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Chromium is a system package, not an npm one: without it `npm test` skips these tests and
// says so, like the PostgreSQL and Redis suites without their URLs. Under CI (.ci/run installs
// it) a missing Chromium fails instead, so nothing is skipped there.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium`);
if (!haveChromium) console.warn(`test/browser skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
const describeInChromium = haveChromium ? describe : describe.skip;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The server serves dist/web: build it when missing or older than web/ (npm install builds it too). */
function ensureWebBuild(): void {
  const web = join(projectRoot, 'web');
  if (existsSync(WEB_DIST) && statSync(WEB_DIST).mtimeMs >= newestMtime(web)) return;
  // jest sets NODE_ENV=test, which would make vite bundle React's development build.
  execFileSync('npm', ['run', '--silent', 'build:web'], {
    cwd: projectRoot,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

describeInChromium('web app in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  const cspReports: string[] = [];

  beforeAll(async () => {
    ensureWebBuild();
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = await startTestServer('pglite', {}, { role: 'all', demo: true, sweeps: { intervalMs: 3_600_000 } });
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    // Whatever the pages' Content-Security-Policy refuses, Chromium reports on the console.
    context.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspReports.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  test('the demo tenant exists with the sample garments, and / and /catalog serve the app', async () => {
    expect(server.demo).toMatchObject({ created: true });
    expect(server.demo!.apiKey).toMatch(/^atk_/);
    for (const path of ['/', '/catalog']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<div id="root">');
    }
    // The API routes are not shadowed by the app.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(
      (
        await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query":"{ __typename }"}',
        })
      ).status,
    ).toBe(200);
  });

  test('a shopper chooses a photo and garments, watches the render progress live, and downloads the result', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    // The sample photos become the demo shopper's own.
    await page.getByRole('button', { name: 'Person photo 2' }).click();
    await expect(page.getByRole('button', { name: 'Person photo 2' }).getAttribute('aria-pressed')).resolves.toBe('true');
    await shot(page, 'shopper-1-photo-chosen');

    await page.getByRole('button', { name: 'Tops' }).click();
    await page.getByRole('button', { name: 'Sample top 1, top' }).click();
    await page.getByRole('button', { name: 'Bottoms' }).click();
    await page.getByRole('button', { name: 'Sample bottom 2, bottom' }).click();
    await page.getByRole('button', { name: 'Shoes', exact: true }).click();
    await page.getByRole('button', { name: 'Sample shoes 1, shoes' }).click();
    await expect(page.getByRole('list', { name: 'Chosen garments' }).locator('li').count()).resolves.toBe(3);
    await shot(page, 'shopper-2-outfit-composed');

    // Records every value the progress bar shows, and whether the result was on screen then.
    await page.evaluate(() => {
      const seen: { step: string | null; result: boolean }[] = [];
      (window as unknown as { progressSeen: typeof seen }).progressSeen = seen;
      const record = () => {
        const bar = document.querySelector('[role="progressbar"]');
        if (!bar) return;
        const step = bar.getAttribute('aria-valuenow');
        const result = document.querySelector('[data-testid="result-image"]') !== null;
        const last = seen[seen.length - 1];
        if (!last || last.step !== step || last.result !== result) seen.push({ step, result });
      };
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['aria-valuenow', 'src'],
      });
    });
    await page.getByRole('button', { name: 'Try on' }).click();
    await page.waitForSelector('[role="progressbar"]');
    await shot(page, 'shopper-3-progress');
    await page.getByTestId('result-image').waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('progress-text').textContent()).resolves.toBe('Done: 20 of 20 steps');
    await shot(page, 'shopper-4-result');

    const seen = await page.evaluate(
      () => (window as unknown as { progressSeen: { step: string | null; result: boolean }[] }).progressSeen,
    );
    const stepsBeforeResult = new Set(
      seen.filter((s) => !s.result && s.step !== null && Number(s.step) > 0 && Number(s.step) < 20).map((s) => s.step),
    );
    expect(stepsBeforeResult.size).toBeGreaterThanOrEqual(3);
    // The original is shown beside the result.
    await expect(page.getByRole('img', { name: 'Your original photo' }).isVisible()).resolves.toBe(true);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^atelier-try-on-.+\.png$/);
    const saved = join(SCREENSHOTS, 'shopper-5-downloaded-result.png');
    await download.saveAs(saved);
    expect(readFileSync(saved).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    // Past renders list it, and showing it again works.
    const past = page.getByRole('button', { name: /^Show try-on Sample top 1 \+ Sample bottom 2 \+ Sample shoes 1/ });
    await past.first().waitFor();
    await past.first().click();
    await expect(page.getByTestId('result-image').isVisible()).resolves.toBe(true);
    await shot(page, 'shopper-6-past-renders');
    await page.close();
  }, 120_000);

  test('an outfit that breaks a rule, chosen by keyboard, is refused with a clear message', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    // By keyboard only: focus, then Enter or Space.
    await page.getByRole('button', { name: 'Sample dress 1, dress' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sample top 2, top' }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Try on' }).focus();
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toMatch(/DRESS cannot be combined with a TOP or BOTTOM \(DRESS_CONFLICT\)/);
    await expect(page.locator('[role="progressbar"]').count()).resolves.toBe(0);
    await shot(page, 'rule-violation-dress-and-top');
    await page.close();
  }, 60_000);

  test('a retailer signs in, drops several garments, sees each cache become READY live, archives one, and sees render timings', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/catalog`);
    await shot(page, 'catalog-1-sign-in');
    await page.getByLabel('API key').fill(server.demo!.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in to').waitFor();
    await page.locator('tr[data-sku="DEMO-TOP-1"]').waitFor();

    // Two images dropped at once.
    const files = [
      { name: 'linen-shirt.png', path: 'garments/top/g2.png' },
      { name: 'canvas-bag.png', path: 'garments/bag/g17.png' },
    ].map((f) => ({ name: f.name, base64: readFileSync(join(samples, f.path)).toString('base64') }));
    const dataTransfer = await page.evaluateHandle((list) => {
      const transfer = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: 'image/png' }));
      }
      return transfer;
    }, files);
    await page.dispatchEvent('.dropzone', 'drop', { dataTransfer });
    await expect(page.getByRole('list', { name: 'Images to upload' }).locator('li').count()).resolves.toBe(2);
    // Categories guessed from the file names; the retailer could change them.
    await expect(page.getByRole('combobox').nth(0).inputValue()).resolves.toBe('TOP');
    await expect(page.getByRole('combobox').nth(1).inputValue()).resolves.toBe('BAG');
    await shot(page, 'catalog-2-dropped');

    await page.getByRole('button', { name: 'Upload 2 garments' }).click();
    for (const sku of ['LINEN-SHIRT', 'CANVAS-BAG']) {
      const status = page.locator(`tr[data-sku="${sku}"] [data-testid="cache-status"]`);
      await page.waitForFunction(
        (selector) => document.querySelector(selector)?.textContent === 'READY',
        `tr[data-sku="${sku}"] [data-testid="cache-status"]`,
        { timeout: 60_000 },
      );
      await expect(status.textContent()).resolves.toBe('READY');
    }
    await shot(page, 'catalog-3-ready');

    await page.getByRole('button', { name: 'Archive canvas bag' }).click();
    await page.locator('tr[data-sku="CANVAS-BAG"]').getByText('Archived').waitFor();

    // The shopper test's render, with its timings.
    const renderRow = page.locator('section[aria-labelledby="renders-heading"] tbody tr').first();
    await renderRow.waitFor();
    await expect(renderRow.textContent()).resolves.toMatch(/SUCCEEDED/);
    await expect(renderRow.textContent()).resolves.toMatch(/\d+ ms|\d+\.\d+ s/);
    await shot(page, 'catalog-4-archived-and-renders');
    await page.close();
  }, 120_000);

  test('the pages ran under their Content-Security-Policy, which refused nothing they do, and refuses an inline script', async () => {
    expect((await fetch(`${server.url}/`)).headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    expect(cspReports).toEqual([]);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Person photo 1' }).waitFor();
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.head.appendChild(script);
      return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
    });
    expect(ran).toBe(false);
    await page.waitForTimeout(200);
    expect(cspReports.some((report) => /inline script/i.test(report))).toBe(true);
    await page.close();
  }, 60_000);

  test('on a phone-sized screen the pages fit the width', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      const page = await phone.newPage();
      await page.goto(`${server.url}/`);
      await page.getByRole('button', { name: 'Person photo 1' }).waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      // Every image says what it shows (or is marked decorative).
      expect(await page.evaluate(() => [...document.images].filter((img) => !img.hasAttribute('alt')).length)).toBe(0);
      await shot(page, 'phone-shopper');
      await page.goto(`${server.url}/catalog`);
      await page.getByLabel('API key').waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(page, 'phone-catalog-sign-in');
    } finally {
      await phone.close();
    }
  }, 60_000);
});
