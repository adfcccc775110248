// End-to-end: a person uses Swagger UI (/docs) served by each example to
// authorize and call a protected operation, in Debian's headless Chromium.
//
// Run: node --test tests/browser/   (after building the examples)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { startExample } from './lib/example.mjs';
import { assertStatus, assertTokenResponse, browserTests } from './lib/harness.mjs';
import { authorizeApiKey, authorizeBasic, authorizeOAuth2Password, execute, openDocs } from './lib/swagger.mjs';

const secret = (n = 12) => randomBytes(n).toString('base64url');

const docsTest = browserTests();

{
  const username = `user-${secret(4)}`;
  const password = secret();
  docsTest(
    'basic_auth: 401 before Authorize, 200 after Basic credentials',
    () => startExample('basic_auth', { BASIC_USERNAME: username, BASIC_PASSWORD: password }),
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
    () => startExample('oauth2_password_jwt', { DEMO_PASSWORD: password }),
    async ({ page, baseUrl }) => {
      await openDocs(page, baseUrl);
      assertStatus(await execute(page, 'get', '/users/me'), 401, 'GET /users/me without a token');
      assertTokenResponse(await authorizeOAuth2Password(page, 'johndoe', password));
      assertStatus(await execute(page, 'get', '/users/me'), 200, 'GET /users/me with the token');
    },
  );
}

{
  const apiKey = secret(18);
  docsTest(
    'api_key_header: 401 before Authorize, 200 after, and still 200 after reload (persistAuthorization)',
    () => startExample('api_key_header', { API_KEY: apiKey }),
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
