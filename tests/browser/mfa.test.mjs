// Two-step sign-in, end to end, with codes from software nobody here wrote
// (OATH Toolkit's `oathtool`, Debian package oathtool):
// - in Debian's headless Chromium, a role that requires a second factor sends
//   its member to set up an authenticator app at their first login (QR code and
//   key on a page without any script), then to the recovery codes, then back to
//   the application; the next login asks for the code after the password;
// - openid-client 6 asks for two factors (`acr_values`) and a recent login
//   (`max_age`) and reads `acr`, `amr` and `auth_time` from the verified ID token.
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import * as client from 'openid-client';

import { browserTests } from './lib/harness.mjs';
import { basicAuth, createClient, createUser, decodeJwt, signIn, startCallback } from './lib/oidc.mjs';
import { freePort, startWardenServer } from './lib/server.mjs';

const ACR_MFA = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';

/** The TOTP code `steps` 30-second steps from now, from oathtool. */
function oathtool(secret, steps = 0) {
  const at = new Date(Date.now() + steps * 30_000);
  const when = at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', `--now=${when}`, secret], { encoding: 'utf8' }).trim();
}

/** Waits until a 30-second step has 8 s behind it and 10 s ahead. */
async function earlyInAStep() {
  for (;;) {
    const into = (Date.now() / 1000) % 30;
    if (into >= 8 && into <= 20) return;
    await new Promise((res) => setTimeout(res, 250));
  }
}

const mfaTest = browserTests();

{
  let warden;
  mfaTest(
    'a role requiring a second factor: set-up at first login (QR code, oathtool code, recovery codes), then the code after the password',
    async () => (warden = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), openid: true })),
    async ({ page, baseUrl, log }) => {
      const bob = await createUser(warden, { username: 'bob', role: 'staff', scopes: ['me'] });
      await warden.warden(['role', 'put', 'staff', '--scope', 'me', '--require-mfa']);
      const callback = await startCallback();
      try {
        const { client_id, client_secret } = await createClient(warden, 'Payroll', {
          redirectUris: [callback.url],
          grantTypes: ['authorization_code'],
          firstParty: true,
        });
        const authorizeUrl = () => {
          const verifier = randomBytes(32).toString('base64url');
          const url = new URL('/authorize', baseUrl);
          url.search = new URLSearchParams({
            response_type: 'code',
            client_id,
            redirect_uri: callback.url,
            scope: 'openid profile',
            state: randomBytes(8).toString('base64url'),
            code_challenge: createHash('sha256').update(verifier).digest('base64url'),
            code_challenge_method: 'S256',
          });
          return { url: url.href, verifier };
        };

        const first = authorizeUrl();
        await page.goto(first.url);
        await page.locator('#username').fill(bob.username);
        await page.locator('#password').fill(bob.password);
        await page.getByRole('button', { name: 'Sign in' }).click();

        // The set-up page: a QR code drawn by the server, the key to type by hand, no script.
        await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
        const qr = page.locator('#qr svg');
        assert.equal(await qr.count(), 1, 'a QR code as inline SVG');
        const box = await qr.boundingBox();
        assert.ok(box && box.width >= 100, `the QR code is visible: ${JSON.stringify(box)}`);
        assert.equal(await page.locator('script').count(), 0, 'no script on the page');
        const secret = (await page.locator('#secret').innerText()).trim();
        assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 key');

        // A wrong code: the same page, with an alert, and the same key.
        await page.locator('#code').fill('000000');
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.getByRole('alert').waitFor();
        assert.equal((await page.locator('#secret').innerText()).trim(), secret);

        await earlyInAStep();
        await page.locator('#code').fill(oathtool(secret));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.getByRole('heading', { name: 'Two-step verification is on' }).waitFor();
        const codes = await page.locator('#recovery-codes li').allInnerTexts();
        assert.equal(codes.length, 10, `ten recovery codes: ${codes}`);
        assert.ok(codes.every((c) => /^[0-9a-z]{4}(-[0-9a-z]{4}){5}$/.test(c)), `${codes}`);

        await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.getByRole('button', { name: 'Continue' }).click()]);
        const code = callback.hits.at(-1).get('code');
        const res = await fetch(new URL('/token', baseUrl), {
          method: 'POST',
          headers: { authorization: basicAuth(client_id, client_secret), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callback.url, code_verifier: first.verifier }),
        });
        const tokens = await res.json();
        assert.equal(res.status, 200, JSON.stringify(tokens));
        const { payload } = decodeJwt(tokens.id_token);
        assert.deepEqual(payload.amr, ['pwd', 'otp', 'mfa']);
        assert.equal(payload.acr, ACR_MFA);

        // A fresh browser session: the password, then the code (the next step's, single use).
        await page.context().clearCookies();
        const second = authorizeUrl();
        await page.goto(second.url);
        await page.locator('#username').fill(bob.username);
        await page.locator('#password').fill(bob.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
        assert.equal(await page.locator('#password').count(), 0, 'the password is not asked twice');
        await page.locator('#code').fill(oathtool(secret, 1));
        await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.getByRole('button', { name: 'Verify' }).click()]);
        assert.ok(callback.hits.at(-1).get('code'), 'back at the application with a code');
        assert.ok(!log.some((line) => /pageerror|Content Security Policy/i.test(line)), `no script error or CSP violation:\n${log.join('\n')}`);
      } finally {
        await callback.close();
      }
    },
  );
}

describe('openid-client 6 reads how the user signed in', { timeout: 120_000 }, () => {
  let server;
  let carol;
  let secret;
  let redirectUri;

  before(async () => {
    server = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), openid: true });
    carol = await createUser(server, { username: 'carol', role: 'reader', scopes: ['me'] });
    redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
    // Carol sets up an authenticator app through the API, with a fresh password login.
    const token = await fetch(new URL('/token', server.baseUrl), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: carol.username, password: carol.password }),
    }).then((r) => r.json());
    const auth = { authorization: `Bearer ${token.access_token}` };
    const setup = await fetch(new URL('/users/me/factors/totp', server.baseUrl), { method: 'POST', headers: auth }).then((r) => r.json());
    secret = setup.secret;
    await earlyInAStep();
    const confirmed = await fetch(new URL('/users/me/factors/totp/confirm', server.baseUrl), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ code: oathtool(secret, -1) }),
    });
    assert.equal(confirmed.status, 200, await confirmed.text());
  });
  after(async () => {
    await server?.stop();
  });

  test('acr_values and max_age: the ID token says pwd + otp, the MFA level and a recent auth_time', async () => {
    const registered = await createClient(server, 'Bank', { public: true, redirectUris: [redirectUri], grantTypes: ['authorization_code'] });
    const config = await client.discovery(new URL(server.baseUrl), registered.client_id, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    assert.ok(config.serverMetadata().acr_values_supported.includes(ACR_MFA));
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      nonce,
      acr_values: ACR_MFA,
      max_age: '300',
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    const before = Math.floor(Date.now() / 1000);
    const { location } = await signIn(authorizationUrl.href, { username: carol.username, password: carol.password, otp: () => oathtool(secret) });
    // openid-client checks auth_time against max_age itself (OpenID Connect Core §3.1.3.7).
    const tokens = await client.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier, expectedNonce: nonce, maxAge: 300 });
    const claims = tokens.claims();
    assert.equal(claims.acr, ACR_MFA);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.ok(claims.auth_time >= before - 1 && claims.auth_time <= Math.floor(Date.now() / 1000) + 1, `auth_time ${claims.auth_time}`);
  });
});
