// The shape of every browser test: one Chromium per test file, a fresh server
// and a fresh browser context per test, and on failure a screenshot plus the
// page's and the server's logs attached to the error.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser, newPage } from './swagger.mjs';

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');
const TEST_TIMEOUT_MS = 120_000;

/**
 * Launches Chromium before this file's tests and closes it after them; returns
 * `docsTest(title, start, body)`, which runs `body({ page, baseUrl, log,
 * loginPrompts })` against the server `start()` returns ({ name, baseUrl,
 * stderr(), stop() }, as `startExample` and `startWardenServer` do).
 * On failure: screenshot to tests/browser/screenshots/<slug>.png, and the
 * server's stderr and the page's network/console log in the error.
 */
export function browserTests() {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  return function docsTest(title, start, body) {
    test(title, { timeout: TEST_TIMEOUT_MS }, async () => {
      const server = await start();
      const { context, page, log, loginPrompts } = await newPage(browser);
      try {
        await body({ page, baseUrl: server.baseUrl, log, loginPrompts });
      } catch (err) {
        const slug = title.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
        const shot = join(SCREENSHOTS, `${slug}.png`);
        try {
          mkdirSync(SCREENSHOTS, { recursive: true });
          await page.screenshot({ path: shot, fullPage: true });
        } catch (shotErr) {
          log.push(`(screenshot failed: ${shotErr.message})`);
        }
        err.message +=
          `\n--- screenshot: ${shot}` +
          `\n--- page log (last 40):\n${log.slice(-40).join('\n')}` +
          `\n--- ${server.name} stderr (tail):\n${server.stderr().slice(-3000)}`;
        throw err;
      } finally {
        await context.close().catch(() => {});
        await server.stop();
      }
    });
  };
}

/** The status the network saw and the one Swagger UI shows are both `expected`. */
export function assertStatus(result, expected, what) {
  assert.equal(result.http, expected, `${what}: the server answered HTTP ${result.http}, expected ${expected}`);
  assert.equal(result.ui, expected, `${what}: Swagger UI's response panel shows ${result.ui}, expected ${expected}`);
}

/**
 * The token request Swagger UI's Authorize dialog sent went to <base>/token
 * and was answered 200 with a bearer token (the password never shows in the
 * message).
 */
export function assertTokenResponse(token) {
  const sentForm = (token.requestBody || '').replace(/(password=)[^&]*/, '$1<redacted>');
  assert.equal(
    new URL(token.url).pathname,
    '/token',
    `Swagger UI posted the token request to ${token.url}, expected <base>/token`,
  );
  assert.equal(
    token.status,
    200,
    `POST /token from Swagger UI's Authorize dialog -> ${token.status}\n` +
      `request (${token.requestContentType}): ${sentForm}\nresponse: ${token.body}`,
  );
  const json = JSON.parse(token.body);
  assert.equal(typeof json.access_token, 'string', `no access_token in ${token.body}`);
  assert.equal(String(json.token_type).toLowerCase(), 'bearer', `token_type in ${token.body}`);
}
