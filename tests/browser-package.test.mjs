// The package's browser build in a real headless Chromium: a plain page imports it with
// <script type="module"> and runs the snapshot workflow against runloop-local, which allows
// the page's origin through CORS.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchChromium } from './support/browser.mjs';
import { startServer } from './support/server.mjs';
import { startStaticServer } from './support/static-server.mjs';

let pages;
let server;
let browser;

before(async () => {
  pages = await startStaticServer();
  server = await startServer({ corsOrigins: [pages.origin] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await pages?.close();
});

test('browser page runs seed flow', async () => {
  const page = await browser.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));

  const query = new URLSearchParams({ baseURL: server.baseURL, token: server.token });
  await page.goto(`${pages.origin}/tests/browser/seed-flow.html?${query}`);
  // The module script sets window.seedFlow once the wasm build has loaded.
  await page.waitForFunction(() => window.seedFlow !== undefined, null, { timeout: 30_000 })
    .catch((error) => {
      throw new Error(`the page never started the flow: ${error}\n${consoleLines.join('\n')}`);
    });
  const outcome = await page.evaluate(() => window.seedFlow);

  assert.ok(outcome.ok, `${outcome.error}\nconsole:\n${consoleLines.join('\n')}`);
  const result = outcome.value;
  assert.equal(result.sourceStatus, 'running');
  assert.equal(result.writeExitCode, 0);
  assert.equal(result.snapshotStatus, 'complete');
  assert.equal(result.restoredStatus, 'running');
  assert.equal(result.contents, 'Hello, World!\n');
  assert.equal(result.asyncStatus, 'complete');
  assert.equal(result.listedCount, 2);
  assert.equal(result.remainingCount, 0);
  assert.equal(result.missingIsNotFound, true);
  assert.equal(result.missingStatus, 404);
  assert.equal(result.finalStatus, 'shutdown');
});
