// End-to-end: a person opens ReDoc (/redoc) served by an example, in Debian's
// headless Chromium. ReDoc must render the operations and the security schemes
// from the example's own /openapi.json, under the page's Content-Security-Policy,
// without a console error and without any request off 127.0.0.1.
//
// Run: node --test tests/browser/   (after building the examples with the
// `redoc` feature on, as `cargo test --workspace` does)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { startExample } from './lib/example.mjs';
import { browserTests } from './lib/harness.mjs';

const docsTest = browserTests();

/** Every request the page makes, and every console error or page error. */
function watch(page) {
  const requests = [];
  const errors = [];
  page.on('request', (req) => requests.push(req.url()));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { requests, errors };
}

function offOrigin(url) {
  const { protocol, hostname } = new URL(url);
  return !(protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1');
}

docsTest(
  'oauth2_scopes: /redoc renders the operations and the OAuth2 scheme with its scopes, offline, under its CSP',
  () => startExample('oauth2_scopes', { DEMO_PASSWORD: randomBytes(12).toString('base64url') }),
  async ({ page, baseUrl }) => {
    const { requests, errors } = watch(page);
    const res = await page.goto(`${baseUrl}/redoc`);
    assert.equal(res?.status(), 200, `GET /redoc -> ${res?.status()}`);
    const policy = res.headers()['content-security-policy'] ?? '';
    assert.match(policy, /script-src 'self'(;|$)/, `CSP: ${policy}`);
    assert.doesNotMatch(policy, /unsafe/, `CSP: ${policy}`);

    // The operations: one section each, with its summary as the heading, and in the side menu.
    const menu = page.locator('.menu-content');
    await menu.waitFor();
    const operations = {
      login: 'Log in, asking for scopes',
      read_users_me: 'The current user (requires',
      read_own_items: "The current user's items",
      read_system_status: 'Any valid token, no scope needed',
    };
    for (const [operationId, summary] of Object.entries(operations)) {
      const heading = page.locator(`[id="operation/${operationId}"] h2`);
      await heading.waitFor();
      assert.ok((await heading.innerText()).includes(summary), `operation/${operationId}: ${await heading.innerText()}`);
      await menu.locator(`li[data-item-id="operation/${operationId}"]`).waitFor();
    }

    // The security scheme and the operation's scopes: "Authorizations" on /users/me/items,
    // unfolded, shows the OAuth2 password flow, its token URL, the required scopes and
    // every scope the scheme offers with its description.
    const items = page.locator('[id="operation/read_own_items"]');
    const authorizations = items.locator('h5', { hasText: 'Authorizations:' });
    await authorizations.click();
    await items.getByText('Flow type:').first().waitFor();
    const securityText = await items.innerText();
    for (const expected of [
      'OAuth2PasswordBearer',
      'OAuth2: OAuth2PasswordBearer',
      'Flow type:',
      'password',
      'Token URL:',
      '/token',
      'Required scopes:',
      'Read items.',
      'Read information about the current user.',
    ]) {
      assert.ok(securityText.includes(expected), `Authorizations lack "${expected}":\n${securityText}`);
    }
    assert.match(securityText, /Required scopes:\s*me\s*items/, securityText);
    // /status needs a token and no scope: the scheme, without scopes.
    const status = page.locator('[id="operation/read_system_status"]');
    assert.match(await status.innerText(), /Authorizations:\s*OAuth2PasswordBearer\s/i);
    // The token endpoint needs nothing.
    assert.doesNotMatch(await page.locator('[id="operation/login"]').innerText(), /Authorizations/i);

    // Search runs in ReDoc's worker (a blob: URL the policy allows).
    await page.locator('input[placeholder="Search..."]').fill('items');
    await page.locator('[data-role="search:results"] li[data-item-id="operation/read_own_items"]').waitFor();

    // ReDoc styled itself: its <style> elements, made at run time, were applied (a blocked
    // one has no style sheet), perfect-scrollbar's among them.
    const sheets = await page.evaluate(() =>
      [...document.querySelectorAll('style')].map((s) => ({ rules: s.sheet ? s.sheet.cssRules.length : -1, text: s.textContent.slice(0, 40) })),
    );
    assert.ok(sheets.every((s) => s.rules >= 0), `blocked <style> elements: ${JSON.stringify(sheets)}`);
    assert.ok(sheets.some((s) => s.text.startsWith('.ps{')), `no perfect-scrollbar style: ${JSON.stringify(sheets)}`);
    assert.ok(sheets.some((s) => s.rules > 100), `no styled-components sheet: ${JSON.stringify(sheets)}`);

    assert.deepEqual(errors, [], `console errors:\n${errors.join('\n')}`);
    const off = requests.filter(offOrigin);
    assert.deepEqual(off, [], `requests off 127.0.0.1:\n${off.join('\n')}`);
    assert.ok(requests.some((url) => new URL(url).pathname === '/openapi.json'), `no request for /openapi.json:\n${requests.join('\n')}`);
  },
);
