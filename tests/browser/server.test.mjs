// End-to-end: the Warden server's own API docs. A person opens /docs served by
// `warden serve`, authorizes with the password flow as the bootstrap
// administrator, and calls a protected operation, in Debian's headless Chromium.
//
// Run: node --test tests/browser/   (after `cargo test --workspace`, which
// builds target/debug/warden)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { assertStatus, assertTokenResponse, browserTests } from './lib/harness.mjs';
import { startWardenServer } from './lib/server.mjs';
import { authorizeOAuth2Password, execute, openDocs } from './lib/swagger.mjs';

const docsTest = browserTests();

{
  // 20 characters: above the 12-character password policy.
  const adminPassword = randomBytes(15).toString('base64url');
  docsTest(
    'warden serve: 401 before Authorize, the password flow as admin posts to /token, then GET /users/me is admin',
    () => startWardenServer({ adminPassword }),
    async ({ page, baseUrl }) => {
      await openDocs(page, baseUrl);
      assertStatus(await execute(page, 'get', '/users/me'), 401, 'GET /users/me without a token');
      assertTokenResponse(await authorizeOAuth2Password(page, 'admin', adminPassword));
      const me = await execute(page, 'get', '/users/me');
      assertStatus(me, 200, 'GET /users/me with the token');
      const user = JSON.parse(me.body);
      assert.equal(user.username, 'admin', `GET /users/me body: ${me.body}`);
      assert.ok(user.roles.includes('admin'), `the bootstrap administrator has the admin role: ${me.body}`);
    },
  );
}
