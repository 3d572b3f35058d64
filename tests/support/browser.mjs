// Launches Debian's Chromium headless through playwright-core. Playwright's own browser
// downloads do not work on these machines, so the executable is the system one.

import { chromium } from 'playwright-core';

/** Path of the Chromium binary that Debian's `chromium` package installs. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Launches a headless Chromium. Playwright gives every launch a new, empty profile directory
 * and removes it on close (it rejects a `--user-data-dir` argument to `launch`).
 *
 * @returns {Promise<import('playwright-core').Browser>}
 */
export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
