// End-to-end: a person uses Swagger UI (/docs) served by each example to
// authorize and call a protected operation, in Debian's headless Chromium.
//
// Run: node --test tests/browser/   (after building the examples)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startExample } from './lib/example.mjs';
import {
  authorizeApiKey,
  authorizeBasic,
  authorizeOAuth2Password,
  execute,
  launchBrowser,
  newPage,
  openDocs,
} from './lib/swagger.mjs';

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const TEST_TIMEOUT_MS = 120_000;

const secret = (n = 12) => randomBytes(n).toString('base64url');

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * Run `body` against a freshly started example in a fresh browser context.
 * On failure: screenshot to tests/browser/screenshots/<slug>.png and attach
 * the example's stderr and the page's network/console log to the error.
 */
function docsTest(title, example, secrets, body) {
  test(title, { timeout: TEST_TIMEOUT_MS }, async () => {
    const server = await startExample(example, secrets);
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
        `\n--- ${example} stderr (tail):\n${server.stderr().slice(-3000)}`;
      throw err;
    } finally {
      await context.close().catch(() => {});
      await server.stop();
    }
  });
}

function assertStatus(result, expected, what) {
  assert.equal(result.http, expected, `${what}: the server answered HTTP ${result.http}, expected ${expected}`);
  assert.equal(result.ui, expected, `${what}: Swagger UI's response panel shows ${result.ui}, expected ${expected}`);
}

{
  const username = `user-${secret(4)}`;
  const password = secret();
  docsTest(
    'basic_auth: 401 before Authorize, 200 after Basic credentials',
    'basic_auth',
    { BASIC_USERNAME: username, BASIC_PASSWORD: password },
    async ({ page, baseUrl }) => {
      await openDocs(page, baseUrl);
      assertStatus(await execute(page, 'get', '/users/me'), 401, 'GET /users/me without authorizing');
      await authorizeBasic(page, username, password);
      const me = await execute(page, 'get', '/users/me');
      assertStatus(me, 200, 'GET /users/me after authorizing');
      assert.equal(JSON.parse(me.body).username, username, `GET /users/me body: ${me.body}`);
    },
  );
}

{
  const password = secret();
  docsTest(
    'oauth2_password_jwt: Authorize dialog posts the password form to /token, then 200',
    'oauth2_password_jwt',
    { DEMO_PASSWORD: password },
    async ({ page, baseUrl }) => {
      await openDocs(page, baseUrl);
      assertStatus(await execute(page, 'get', '/users/me'), 401, 'GET /users/me without a token');
      const token = await authorizeOAuth2Password(page, 'johndoe', password);
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
      assertStatus(await execute(page, 'get', '/users/me'), 200, 'GET /users/me with the token');
    },
  );
}

{
  const apiKey = secret(18);
  docsTest(
    'api_key_header: 401 before Authorize, 200 after, and still 200 after reload (persistAuthorization)',
    'api_key_header',
    { API_KEY: apiKey },
    async ({ page, baseUrl }) => {
      await openDocs(page, baseUrl);
      assertStatus(await execute(page, 'get', '/protected'), 401, 'GET /protected without a key');
      await authorizeApiKey(page, apiKey);
      assertStatus(await execute(page, 'get', '/protected'), 200, 'GET /protected with the key');

      await page.reload();
      await page.locator('.swagger-ui .opblock').first().waitFor();
      const locked = await page.locator('.auth-wrapper .btn.authorize').getAttribute('class');
      assert.match(locked ?? '', /\blocked\b/, `after reload the Authorize button should show "locked", class="${locked}"`);
      assertStatus(await execute(page, 'get', '/protected'), 200, 'GET /protected after reload (persistAuthorization)');
    },
  );
}
