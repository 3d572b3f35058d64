// The in-browser playground served by runloop-local (--playground), clicked through in a
// real headless Chromium: create, exec, file edit, snapshot, a fan-out of three devboxes
// restored from the snapshot, snapshot deletion, shutdown, and a wrong-token error.
// A screenshot of the page after the fan-out is saved to tests/output/playground.png.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchChromium } from './support/browser.mjs';
import { startServer } from './support/server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const screenshotPath = path.join(repoRoot, 'tests', 'output', 'playground.png');

let server;
let browser;

before(async () => {
  server = await startServer({ playgroundDir: repoRoot });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Returns the devboxes the server lists with `status`, through the raw API. */
async function listDevboxes(status) {
  const response = await fetch(`${server.baseURL}/v1/devboxes?status=${status}&limit=100`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200);
  return (await response.json()).devboxes;
}

test('playground seed flow and fan-out', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  const textOf = (selector) => page.locator(selector).innerText();
  // Waits until the element's text matches `pattern` (a RegExp source string).
  const waitForText = (selector, pattern, timeout = 30_000) => page.waitForFunction(
    ([sel, source]) => new RegExp(source).test(document.querySelector(sel).textContent),
    [selector, pattern],
    { timeout },
  );
  const noError = async () => {
    assert.equal(await page.locator('#error').isHidden(), true, await textOf('#error'));
  };

  const hash = new URLSearchParams({ token: server.token });
  await page.goto(`${server.baseURL}/playground/#${hash}`);
  await page.waitForSelector('body[data-ready]');
  assert.equal(await page.inputValue('#base-url'), server.baseURL);
  assert.equal(await page.isDisabled('#run-command'), true);

  // Create a devbox.
  await page.click('#create-devbox');
  await waitForText('#devbox-state', 'running', 60_000).catch(async (error) => {
    throw new Error(`${error}\n${await textOf('#error')}\n${consoleLines.join('\n')}`);
  });
  await noError();
  assert.match(await textOf('#devbox-state'), /^dbx_\S+ · running/);

  // Run a command: the button is disabled while it runs, and its output streams in line by
  // line: the first line shows while the command still sleeps, then the exit code.
  await page.fill('#command', 'echo one; sleep 1.5; echo two >&2; exit 3');
  await page.click('#run-command');
  assert.equal(await page.isDisabled('#run-command'), true);
  await waitForText('#command-output', 'one');
  assert.equal(await textOf('#command-exit'), 'running…');
  assert.doesNotMatch(await textOf('#command-output'), /two/);
  await waitForText('#command-exit', 'exit code');
  await noError();
  assert.equal(await textOf('#command-exit'), 'exit code 3');
  assert.equal(await page.locator('#command-output').textContent(), 'one\ntwo\n');

  // Edit a file and read it back.
  await page.fill('#file-path', 'notes/hello.txt');
  await page.fill('#file-contents', 'Hello from the playground test!\n');
  await page.click('#write-file');
  await waitForText('#file-read', 'wrote');
  await page.click('#read-file');
  await waitForText('#file-read', 'playground test');
  await noError();
  const readBack = await page.locator('#file-read').textContent();
  assert.equal(readBack, 'Hello from the playground test!\n');

  // Take a snapshot: the state ends as complete with the elapsed time.
  await page.click('#take-snapshot');
  await waitForText('#snapshot-state', 'complete', 60_000);
  await noError();
  assert.match(await textOf('#snapshot-state'), /^snp_\S+ · complete · \d+\.\d\d s$/);
  const snapshotId = (await textOf('#snapshot-state')).split(' ')[0];

  // Fan out three devboxes from the snapshot; each reads the file written before it.
  await page.fill('#fanout-count', '3');
  await page.fill('#fanout-command', 'cat notes/hello.txt; echo "box $RANDOM"');
  await page.click('#run-fanout');
  await page.waitForFunction(() => {
    const titles = [...document.querySelectorAll('#fanout-columns h4')];
    return titles.length === 3 && titles.every((title) => /exit 0$/.test(title.textContent));
  }, null, { timeout: 120_000 });
  await noError();
  const outputs = await page.locator('#fanout-columns pre').allInnerTexts();
  assert.equal(outputs.length, 3);
  for (const output of outputs) assert.match(output, /^Hello from the playground test!\nbox \d+/);
  assert.equal((await listDevboxes('running')).length, 4);

  await mkdir(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });

  // The snapshot shows in the list and can be deleted there.
  await page.click('#list-snapshots');
  await waitForText('#snapshot-table', snapshotId);
  await page.locator('#snapshot-table tr', { hasText: snapshotId }).locator('button').click();
  await page.waitForFunction(
    (id) => !document.querySelector('#snapshot-table tbody').textContent.includes(id),
    snapshotId,
  );
  await noError();

  // Shut everything down: no devbox is left running.
  await page.click('#shutdown-all');
  await waitForText('#devbox-state', '^none$');
  await noError();
  assert.deepEqual(await listDevboxes('running'), []);
});

test('playground shows a readable 401', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseURL}/playground/#token=wrong-token`);
  await page.waitForSelector('body[data-ready]');
  await page.click('#create-devbox');
  await page.locator('#error').waitFor({ state: 'visible' });
  const message = await page.locator('#error').innerText();
  assert.match(message, /AuthenticationError/);
  assert.match(message, /401/);
  assert.equal(await page.isDisabled('#create-devbox'), false);
});
