// End-to-end: a person signs in to a third-party application through
// Warden's own login and consent pages, in Debian's headless Chromium. The
// application is a tiny HTTP server on 127.0.0.1 (its redirect URI) and a
// plain fetch to /token (client_secret_basic with the PKCE verifier).
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)
// The login page is also saved to /tmp/warden-login.png for a look.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import { browserTests } from './lib/harness.mjs';
import { basicAuth, createClient, createUser, decodeJwt, startCallback } from './lib/oidc.mjs';
import { startWardenServer } from './lib/server.mjs';

const LOGIN_SCREENSHOT = '/tmp/warden-login.png';
const CLIENT_NAME = 'Acme Photo Prints';

const oidcTest = browserTests();

{
  let warden;
  oidcTest(
    'login and consent pages: wrong password is refused, Allow redirects with a code the client redeems for an ID token',
    async () => (warden = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), openid: true })),
    async ({ page, baseUrl }) => {
      const alice = await createUser(warden, { username: 'alice', role: 'reader', scopes: ['items'] });
      const callback = await startCallback();
      try {
        // A confidential client that is not first-party: its users are asked for consent.
        const { client_id, client_secret } = await createClient(warden, CLIENT_NAME, {
          redirectUris: [callback.url],
          grantTypes: ['authorization_code'],
        });

        const verifier = randomBytes(32).toString('base64url');
        const state = randomBytes(16).toString('base64url');
        const nonce = randomBytes(16).toString('base64url');
        const authorize = new URL('/authorize', baseUrl);
        authorize.search = new URLSearchParams({
          response_type: 'code',
          client_id,
          redirect_uri: callback.url,
          scope: 'openid profile email items',
          state,
          nonce,
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
        });

        // The login page.
        const first = await page.goto(authorize.href);
        assert.equal(first.status(), 200, 'GET /authorize without a session shows the login page');
        await page.locator('#username').waitFor();
        await page.screenshot({ path: LOGIN_SCREENSHOT, fullPage: true });
        const sessionCookie = async () => (await page.context().cookies()).find((c) => /warden_session$/.test(c.name));

        // A wrong password: the login page again, with an error, and no session.
        await page.locator('#username').fill(alice.username);
        await page.locator('#password').fill('not-the-password-at-all');
        const [refused] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/authorize/login'),
          page.getByRole('button', { name: 'Sign in' }).click(),
        ]);
        // The form again with 200, as other providers answer (a 401 would need a challenge).
        assert.equal(refused.status(), 200, `POST /authorize/login with a wrong password -> ${refused.status()}`);
        const alert = page.getByRole('alert');
        await alert.waitFor();
        assert.match(await alert.innerText(), /incorrect|invalid|wrong/i, 'the page says the sign-in failed');
        await page.locator('#password').waitFor();
        assert.equal(await sessionCookie(), undefined, 'no session after a wrong password');

        // The right password: the consent page names the application and what it asks for.
        await page.locator('#username').fill(alice.username);
        await page.locator('#password').fill(alice.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        const allow = page.getByRole('button', { name: 'Allow' });
        await allow.waitFor();
        const consentText = await page.locator('body').innerText();
        assert.ok(consentText.includes(CLIENT_NAME), `the consent page names the client:\n${consentText}`);
        // One line per requested scope, in words; an API scope by its name.
        const lines = await page.getByRole('listitem').allInnerTexts();
        assert.equal(lines.length, 4, `one line per scope (openid profile email items):\n${consentText}`);
        for (const [scope, words] of [['profile', /username/i], ['email', /email/i], ['items', /\bitems\b/]]) {
          assert.ok(lines.some((line) => words.test(line)), `the consent page mentions ${scope} (${words}):\n${consentText}`);
        }

        // The session cookie is out of reach of scripts.
        const session = await sessionCookie();
        assert.ok(session, `a session cookie after signing in: ${JSON.stringify(await page.context().cookies())}`);
        assert.equal(session.httpOnly, true, 'the session cookie is HttpOnly');
        assert.equal(session.sameSite, 'Lax', 'the session cookie is SameSite=Lax');

        // Allow: back at the application with a code, the state and the issuer.
        await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), allow.click()]);
        assert.equal(callback.hits.length, 1, 'the callback was called once');
        const query = callback.hits[0];
        assert.equal(query.get('state'), state);
        assert.equal(query.get('iss'), baseUrl);
        const code = query.get('code');
        assert.ok(code, `a code in the callback: ${query}`);

        // The application redeems the code.
        const res = await fetch(new URL('/token', baseUrl), {
          method: 'POST',
          headers: { authorization: basicAuth(client_id, client_secret), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callback.url, code_verifier: verifier }),
        });
        const body = await res.text();
        assert.equal(res.status, 200, `POST /token -> ${res.status}: ${body}`);
        const tokens = JSON.parse(body);
        assert.equal(typeof tokens.access_token, 'string', body);
        assert.equal(typeof tokens.id_token, 'string', `an ID token for scope openid: ${body}`);
        const { payload } = decodeJwt(tokens.id_token);
        assert.equal(payload.iss, baseUrl);
        assert.ok([payload.aud].flat().includes(client_id), `aud ${JSON.stringify(payload.aud)} names the client`);
        assert.equal(payload.nonce, nonce);
      } finally {
        await callback.close();
      }
    },
  );
}
