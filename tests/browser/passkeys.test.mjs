// End-to-end: passkeys in Debian's headless Chromium with a CDP virtual
// authenticator (WebAuthn domain), against `warden serve` on
// http://localhost:PORT (WebAuthn refuses an IP address as relying party, so
// never 127.0.0.1 here). The page's own script (/assets/webauthn.js) runs the
// ceremonies.
//
// One story: register a passkey through the JSON API from the page (the
// browser's parseCreationOptionsFromJSON and toJSON against webauthn-rs),
// sign in with the password and the passkey, then with the passkey alone
// (username first, then no username: a discoverable credential, by the button
// and by the username field's autofill), refuse an assertion without user
// verification, and read `amr`/`acr` in the tokens: `hwk`, then `swk` once the
// authenticator says the credential is backed up; last, set a passkey up where a
// role forces a second factor on an account without one.
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import { browserTests } from './lib/harness.mjs';
import { createClient, createUser, decodeJwt, startCallback } from './lib/oidc.mjs';
import { startWardenServer } from './lib/server.mjs';

const passkeyTest = browserTests();

{
  let warden;
  passkeyTest(
    'passkeys: registered from the page, then second factor, sole factor (by name, discoverable, autofill), no UV refused, hwk then swk, set up at a forced enrolment',
    async () => (warden = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), localhost: true })),
    async ({ page, baseUrl, log }) => {
      assert.match(baseUrl, /^http:\/\/localhost:\d+$/);
      const alice = await createUser(warden, { username: 'alice', role: 'reader', scopes: ['items'] });
      const callback = await startCallback();
      const context = page.context();
      try {
        const { client_id } = await createClient(warden, 'Passkey App', {
          public: true,
          firstParty: true,
          redirectUris: [callback.url],
          grantTypes: ['authorization_code'],
        });

        // Conditional mediation (autofill) would answer as soon as the username
        // field is focused; it stays off but where the URL asks for it.
        await context.addInitScript(() => {
          if (!location.search.includes('autofill=1') && window.PublicKeyCredential) {
            PublicKeyCredential.isConditionalMediationAvailable = async () => false;
          }
        });

        const cdp = await context.newCDPSession(page);
        await cdp.send('WebAuthn.enable', { enableUI: false });
        const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: {
            protocol: 'ctap2',
            ctap2Version: 'ctap2_1',
            transport: 'internal',
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
          },
        });

        /** An authorization request; resolves to { url, verifier }. */
        const request = (extra = {}) => {
          const verifier = randomBytes(32).toString('base64url');
          const url = new URL('/authorize', baseUrl);
          url.search = new URLSearchParams({
            response_type: 'code',
            client_id,
            redirect_uri: callback.url,
            scope: 'openid profile',
            state: randomBytes(8).toString('base64url'),
            nonce: randomBytes(8).toString('base64url'),
            code_challenge: createHash('sha256').update(verifier).digest('base64url'),
            code_challenge_method: 'S256',
            ...extra,
          });
          return { url: url.href, verifier };
        };

        /** Runs `action`, waits for the callback, redeems its code: the ID token's payload. */
        const signedIn = async (verifier, action) => {
          const before = callback.hits.length;
          await action();
          for (const deadline = Date.now() + 20_000; callback.hits.length === before; ) {
            if (Date.now() > deadline) assert.fail(`no redirect to the application:\n${await page.content()}`);
            await new Promise((res) => setTimeout(res, 50));
          }
          assert.equal(callback.hits.length, before + 1);
          // The browser lands there too before the next navigation.
          await page.waitForURL((url) => url.href.startsWith(callback.url));
          const code = callback.hits.at(-1).get('code');
          const res = await fetch(new URL('/token', baseUrl), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callback.url, client_id, code_verifier: verifier }),
          });
          const body = await res.text();
          assert.equal(res.status, 200, `POST /token -> ${res.status}: ${body}`);
          const tokens = JSON.parse(body);
          const access = decodeJwt(tokens.access_token).payload;
          const id = decodeJwt(tokens.id_token).payload;
          assert.deepEqual(id.amr, access.amr, 'the ID token and the access token agree');
          return id;
        };

        // --- the login page offers passkeys, with one script of ours and no inline one
        const first = request();
        const response = await page.goto(first.url);
        const csp = response.headers()['content-security-policy'];
        const directive = (name) => csp.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `));
        assert.equal(directive('script-src'), "script-src 'self'", csp);
        assert.equal(directive('connect-src'), "connect-src 'self'", csp);
        const scripts = await page.locator('script').evaluateAll((all) => all.map((s) => ({ src: s.getAttribute('src'), inline: s.textContent.trim() })));
        assert.deepEqual(scripts, [{ src: `${baseUrl}/assets/webauthn.js`, inline: '' }]);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();

        // --- register a passkey through the API, from this page (same origin)
        const tokenRes = await fetch(new URL('/token', baseUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'password', username: alice.username, password: alice.password }),
        });
        const { access_token } = await tokenRes.json();
        const registered = await page.evaluate(async (token) => {
          const auth = { authorization: `Bearer ${token}` };
          const started = await fetch('/users/me/factors/passkeys/registration', { method: 'POST', headers: auth });
          const { ceremony, options } = await started.json();
          const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
          const credential = await navigator.credentials.create({ publicKey });
          const finished = await fetch('/users/me/factors/passkeys', {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ ceremony, name: 'Chromium', credential: credential.toJSON() }),
          });
          return { status: finished.status, body: await finished.json() };
        }, access_token);
        assert.equal(registered.status, 201, JSON.stringify(registered.body));
        assert.equal(registered.body.passkey.synced, false);
        assert.equal(registered.body.recovery_codes.length, 10);
        const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        assert.equal(credentials.length, 1);
        assert.equal(credentials[0].isResidentCredential, true, 'residentKey "preferred" made a discoverable credential');

        // --- password, then "Use a passkey"
        await page.goto(first.url);
        await page.locator('#username').fill(alice.username);
        await page.locator('#password').fill(alice.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        const usePasskey = page.getByRole('button', { name: 'Use a passkey' });
        await usePasskey.waitFor();
        let claims = await signedIn(first.verifier, () => usePasskey.click());
        assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user', 'pin', 'mfa']);
        assert.equal(claims.acr, 'phrh');

        // --- the passkey alone, username first
        await context.clearCookies();
        let next = request();
        await page.goto(next.url);
        await page.locator('#username').fill(alice.username);
        claims = await signedIn(next.verifier, () => page.getByRole('button', { name: 'Sign in with a passkey' }).click());
        assert.deepEqual(claims.amr, ['hwk', 'user', 'pin', 'mfa']);
        assert.equal(claims.acr, 'phrh');
        assert.equal(claims.sub, alice.id);

        // --- no username: the discoverable credential names the account
        await context.clearCookies();
        next = request();
        await page.goto(next.url);
        claims = await signedIn(next.verifier, () => page.getByRole('button', { name: 'Sign in with a passkey' }).click());
        assert.equal(claims.sub, alice.id);
        assert.deepEqual(claims.amr, ['hwk', 'user', 'pin', 'mfa']);

        // --- the username field's autofill (conditional mediation): the script asks at
        // once, and the virtual authenticator (presence simulated) answers without a click
        await context.clearCookies();
        next = request({ autofill: '1' });
        claims = await signedIn(next.verifier, () => page.goto(next.url, { waitUntil: 'commit' }));
        assert.equal(claims.sub, alice.id);
        assert.deepEqual(claims.amr, ['hwk', 'user', 'pin', 'mfa']);

        // --- an assertion without user verification is refused
        await context.clearCookies();
        await cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId, isBadUV: true });
        next = request();
        await page.goto(next.url);
        await page.locator('#username').fill(alice.username);
        const before = callback.hits.length;
        await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/authorize/passkey'),
          page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
        ]);
        const alert = page.getByRole('alert').first();
        await alert.waitFor();
        assert.match(await alert.innerText(), /could not be verified/i);
        assert.equal(callback.hits.length, before, 'no code without user verification');
        assert.equal((await context.cookies()).some((c) => c.name === 'warden_session'), false, 'no session');
        await cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId, isBadUV: false });

        // --- the authenticator turns the passkey into a synced one: backup eligible
        // (BE), then backed up (BS). webauthn-rs takes BE rising from false to true, not
        // a backed-up credential that was never eligible, hence the two steps: swk, phr.
        for (const backupState of [false, true]) {
          await cdp.send('WebAuthn.setCredentialProperties', {
            authenticatorId,
            credentialId: credentials[0].credentialId,
            backupEligibility: true,
            backupState,
          });
          await context.clearCookies();
          next = request();
          await page.goto(next.url);
          await page.locator('#username').fill(alice.username);
          claims = await signedIn(next.verifier, () => page.getByRole('button', { name: 'Sign in with a passkey' }).click());
          assert.deepEqual(claims.amr, ['swk', 'user', 'pin', 'mfa'], `backup state ${backupState}`);
          assert.equal(claims.acr, 'phr');
        }

        // --- where a role forces enrolment, a passkey can be the factor set up
        const carol = await createUser(warden, { username: 'carol', role: 'staff', scopes: ['items'] });
        await warden.warden(['role', 'put', 'staff', '--scope', 'items', '--require-mfa']);
        await context.clearCookies();
        next = request();
        await page.goto(next.url);
        await page.locator('#username').fill(carol.username);
        await page.locator('#password').fill(carol.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        const instead = page.getByRole('button', { name: 'Set up a passkey instead' });
        await instead.waitFor();
        await instead.click();
        const proceed = page.getByRole('button', { name: 'Continue' });
        await proceed.waitFor();
        assert.equal(await page.locator('#recovery-codes li').count(), 10);
        claims = await signedIn(next.verifier, () => proceed.click());
        assert.equal(claims.sub, carol.id);
        assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user', 'pin', 'mfa']);
        const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        assert.equal(after.credentials.length, 2, 'one passkey each for alice and carol');
      } catch (err) {
        err.message += `\n--- page log:\n${log.slice(-30).join('\n')}`;
        throw err;
      } finally {
        await callback.close();
      }
    },
  );
}

{
  let warden;
  passkeyTest(
    'without JavaScript the passkey form stays hidden and the password form signs in',
    async () => (warden = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), localhost: true })),
    async ({ page, baseUrl }) => {
      const bob = await createUser(warden, { username: 'bob', role: 'reader', scopes: ['items'] });
      const callback = await startCallback();
      const noScript = await page.context().browser().newContext({ javaScriptEnabled: false });
      try {
        const { client_id } = await createClient(warden, 'Plain App', {
          public: true,
          firstParty: true,
          redirectUris: [callback.url],
          grantTypes: ['authorization_code'],
        });
        const verifier = randomBytes(32).toString('base64url');
        const url = new URL('/authorize', baseUrl);
        url.search = new URLSearchParams({
          response_type: 'code',
          client_id,
          redirect_uri: callback.url,
          scope: 'openid',
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
        });
        const plain = await noScript.newPage();
        await plain.goto(url.href);
        assert.equal(await plain.locator('#passkey-form').isHidden(), true);
        await plain.locator('#username').fill(bob.username);
        await plain.locator('#password').fill(bob.password);
        await Promise.all([
          plain.waitForURL((u) => u.href.startsWith(callback.url)),
          plain.getByRole('button', { name: 'Sign in', exact: true }).click(),
        ]);
        assert.ok(callback.hits.at(-1).get('code'));
      } finally {
        await noScript.close();
        await callback.close();
      }
    },
  );
}
