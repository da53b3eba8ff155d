import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's headless chromium as the dashboard benchmark and the browser tests drive it: no sandbox
 * (CI runs as root), nothing that talks to the network on its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
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
