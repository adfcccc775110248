// End-to-end "sign in with another provider" (issue 14) in Debian's headless
// Chromium, proven by software nobody here wrote: the upstream is the
// OpenID-certified `oidc-provider` (idp/upstream-idp.mjs, its development login
// and consent pages), the relying party at Warden is node `openid-client` 6.
// Chromium presses "Sign in with Corp SSO" on Warden's login page, signs in at
// oidc-provider, and comes back to Warden, then to the application.
//
// Run: node --test tests/browser/upstream-login.test.mjs   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import * as client from 'openid-client';

import { browserTests } from './lib/harness.mjs';
import { createClient, startCallback } from './lib/oidc.mjs';
import { startWardenServer } from './lib/server.mjs';
import { newPage } from './lib/swagger.mjs';
import { startUpstreamIdp } from './lib/upstream-idp.mjs';

const PROVIDER = 'corp';
const PROVIDER_NAME = 'Corp SSO';
const SCOPE = 'openid profile email';

const upstreamTest = browserTests();

/**
 * Warden (`warden serve` on its real origin), then the upstream (its client is
 * Warden, redirect URI Warden's callback for `corp`), then `corp` registered at
 * Warden with the CLI (`providerFlags` added), then the application: a client
 * at Warden whose redirect URI is a local /cb, discovered by openid-client.
 * One `stop()` ends them all and removes the server's directory.
 */
async function startFederation({ providerFlags = [], firstParty = false } = {}) {
  const warden = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), openid: true });
  const stack = { warden, idp: null, callback: null };
  const stop = async () => {
    await stack.callback?.close().catch(() => {});
    await stack.idp?.stop().catch(() => {});
    await warden.stop();
  };
  try {
    const secret = randomBytes(24).toString('base64url');
    stack.idp = await startUpstreamIdp({
      clients: [
        { client_id: 'warden', client_secret: secret, redirect_uris: [`${warden.baseUrl}/authorize/upstream/${PROVIDER}/callback`] },
      ],
    });
    await warden.warden(
      ['provider', 'add', PROVIDER, '--kind', 'oidc', '--name', PROVIDER_NAME, '--issuer', stack.idp.issuer,
        '--client-id', 'warden', '--client-secret-stdin', ...providerFlags],
      { input: secret },
    );
    stack.callback = await startCallback();
    const registered = await createClient(warden, 'Acme Photo Prints', {
      firstParty,
      redirectUris: [stack.callback.url],
      grantTypes: ['authorization_code'],
    });
    const config = await client.discovery(
      new URL(warden.baseUrl),
      registered.client_id,
      registered.client_secret,
      client.ClientSecretBasic(registered.client_secret),
      { execute: [client.allowInsecureRequests] }, // plain http on loopback
    );
    return {
      name: 'warden serve + oidc-provider',
      baseUrl: warden.baseUrl,
      warden,
      idp: stack.idp,
      callback: stack.callback,
      config,
      stderr: () =>
        `${warden.stderr().replace(/\x1b\[[0-9;]*m/g, '')}\n--- oidc-provider stderr (tail):\n${stack.idp.stderr().slice(-1500)}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An authorization request by openid-client: PKCE S256, state, nonce. */
async function authorizationRequest(config, redirectUri) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  /** openid-client redeems the code the browser landed with. */
  const redeem = async (landedAt) => {
    const tokens = await client.authorizationCodeGrant(config, new URL(landedAt), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    return { tokens, claims, userinfo };
  };
  return { url, redeem };
}

/**
 * Watches `page` (and the pages it navigates to): which requests go where and
 * the console errors, per origin. `check()` asserts that Warden's pages logged
 * no console error and made no request off Warden's and the upstream's
 * origins (the redirect to the application's redirect URI aside: that is the
 * point of the flow). Also lists the Warden page paths navigated to.
 */
function watch(page, { warden, upstream, callback }) {
  const wardenOrigin = new URL(warden).origin;
  const upstreamOrigin = new URL(upstream).origin;
  const callbackUrl = new URL(callback);
  const offending = [];
  const consoleErrors = [];
  const wardenNavigations = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || page.url();
    if (where.startsWith(wardenOrigin) || page.url().startsWith(wardenOrigin)) consoleErrors.push(`${page.url()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => {
    if (page.url().startsWith(wardenOrigin)) consoleErrors.push(`${page.url()}: pageerror ${err.message}`);
  });
  page.on('request', (req) => {
    const target = new URL(req.url());
    if (req.isNavigationRequest()) {
      if (target.origin === wardenOrigin) wardenNavigations.push(`${req.method()} ${target.pathname}`);
      const toClient = target.origin === callbackUrl.origin && target.pathname === callbackUrl.pathname;
      if (![wardenOrigin, upstreamOrigin].includes(target.origin) && !toClient) offending.push(`navigation ${req.method()} ${req.url()}`);
      return;
    }
    // A subresource: whose page asked for it.
    let from = '';
    try {
      from = new URL(req.frame().url()).origin;
    } catch {
      from = '';
    }
    if (from === wardenOrigin && ![wardenOrigin, upstreamOrigin].includes(target.origin)) {
      offending.push(`${req.resourceType()} ${req.method()} ${req.url()} from ${req.frame().url()}`);
    }
  });
  return {
    wardenNavigations,
    check() {
      assert.deepEqual(consoleErrors, [], 'no console error on Warden pages');
      assert.deepEqual(offending, [], "Warden's pages talk to Warden and the upstream only");
    },
  };
}

/** On Warden's login page: press "Sign in with Corp SSO" and wait for oidc-provider's login page. */
async function pressProviderButton(page, idp) {
  const form = page.locator(`form#upstream-${PROVIDER}`);
  await form.waitFor();
  assert.equal(await form.getAttribute('method'), 'post');
  assert.match(await form.getAttribute('action'), new RegExp(`/authorize/upstream/${PROVIDER}$`));
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/interaction/`)),
    page.getByRole('button', { name: `Sign in with ${PROVIDER_NAME}` }).click(),
  ]);
}

/** oidc-provider's dev login: any login, any password; then its consent page. */
async function signInUpstream(page, login) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password at all');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
}

/** The session cookie at Warden, if any. */
async function wardenSession(context) {
  return (await context.cookies()).find((c) => /warden_session$/.test(c.name));
}

/** `warden --json user list`. */
async function users(warden) {
  return JSON.parse(await warden.warden(['--json', 'user', 'list']));
}

// 1. Sign-up through the provider's button.
{
  let fed;
  upstreamTest(
    'Chromium presses "Sign in with Corp SSO": signed up at Warden, amr fed, a Warden sub, email not verified',
    async () => (fed = await startFederation({ providerFlags: ['--allow-signup'] })),
    async ({ page, baseUrl }) => {
      const watcher = watch(page, { warden: baseUrl, upstream: fed.idp.issuer, callback: fed.callback.url });
      const { url, redeem } = await authorizationRequest(fed.config, fed.callback.url);
      assert.equal(url.origin, baseUrl, 'the authorization endpoint is from Warden’s discovery');

      const first = await page.goto(url.href);
      assert.equal(first.status(), 200, 'Warden’s login page');
      await pressProviderButton(page, fed.idp);
      // The upstream subject: upstream says the address is verified, Warden does not trust it.
      const upstreamSubject = 'carol@corp.example';
      await signInUpstream(page, upstreamSubject);

      // Continue at oidc-provider → Warden's callback → Warden's consent (a third-party client).
      await page.getByRole('button', { name: 'Continue' }).click();
      const allow = page.getByRole('button', { name: 'Allow' });
      await allow.waitFor();
      assert.ok(page.url().startsWith(baseUrl), `back at Warden for consent: ${page.url()}`);
      assert.ok(
        watcher.wardenNavigations.includes(`GET /authorize/upstream/${PROVIDER}/callback`),
        `through Warden's callback: ${watcher.wardenNavigations.join(', ')}`,
      );
      assert.ok(await wardenSession(page.context()), 'signed in at Warden after the callback');
      await Promise.all([page.waitForURL((u) => u.href.startsWith(fed.callback.url)), allow.click()]);
      assert.equal(fed.callback.hits.length, 1, 'the application was called once');
      assert.ok(fed.callback.hits[0].get('code'), `a code: ${fed.callback.hits[0]}`);

      const { claims, userinfo } = await redeem(page.url());
      assert.deepEqual(claims.amr, ['fed'], `amr of an upstream sign-in: ${JSON.stringify(claims)}`);
      assert.equal(claims.iss, baseUrl);
      assert.notEqual(claims.sub, upstreamSubject, 'the sub is Warden’s, not the upstream’s');
      const carol = (await users(fed.warden)).find((u) => u.email === upstreamSubject);
      assert.ok(carol, `an account was signed up: ${JSON.stringify(await users(fed.warden))}`);
      assert.equal(claims.sub, carol.id, 'the sub is the new Warden user’s id');
      assert.equal(carol.username, 'carol', 'the username from preferred_username');
      assert.equal(userinfo.sub, carol.id);
      assert.equal(userinfo.email, upstreamSubject, `UserInfo: ${JSON.stringify(userinfo)}`);
      assert.equal(userinfo.email_verified, false, 'the provider is not trusted for email');
      const identities = JSON.parse(await fed.warden.warden(['--json', 'user', 'identities', carol.username]));
      assert.deepEqual(identities.map((i) => [i.provider_id, i.subject]), [[PROVIDER, upstreamSubject]]);
      // The upstream did say "verified": Warden records it on the identity, not on the account.
      assert.equal(identities[0].email_verified, true, 'oidc-provider said email_verified true');
      assert.equal(carol.email_verified, false);

      assert.deepEqual(
        watcher.wardenNavigations,
        ['GET /authorize', `POST /authorize/upstream/${PROVIDER}`, `GET /authorize/upstream/${PROVIDER}/callback`, 'POST /authorize/consent'],
        "Warden's pages on the way",
      );
      watcher.check();
    },
  );
}

// 2. No sign-up: prove the account with its password, then the identity is linked.
{
  let fed;
  upstreamTest(
    'no sign-up: back on the login page "will be linked", the local password links the identity; a new browser goes straight through',
    async () => (fed = await startFederation({ firstParty: true })),
    async ({ page, baseUrl }) => {
      const password = randomBytes(15).toString('base64url');
      const dana = JSON.parse(
        await fed.warden.warden(['--json', 'user', 'create', 'dana', '--email', 'dana@corp.example', '--password-stdin'], {
          input: `${password}\n`,
        }),
      );
      const upstreamSubject = 'dana-upstream@corp.example';
      const watcher = watch(page, { warden: baseUrl, upstream: fed.idp.issuer, callback: fed.callback.url });

      const first = await authorizationRequest(fed.config, fed.callback.url);
      await page.goto(first.url.href);
      await pressProviderButton(page, fed.idp);
      await signInUpstream(page, upstreamSubject);
      await page.getByRole('button', { name: 'Continue' }).click();

      // Back on Warden's login page, with the message, and nobody signed in yet.
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.ok(page.url().startsWith(`${baseUrl}/authorize/upstream/${PROVIDER}/callback`), page.url());
      assert.match(await alert.innerText(), /Sign in to the account you want to use with Corp SSO.*will be linked/);
      assert.equal(await wardenSession(page.context()), undefined, 'no session before the account is proven');
      assert.deepEqual(await fed.warden.warden(['--json', 'user', 'identities', 'dana']).then(JSON.parse), [], 'not linked yet');

      await page.locator('#username').fill('dana');
      await page.locator('#password').fill(password);
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(fed.callback.url)),
        page.getByRole('button', { name: 'Sign in', exact: true }).click(),
      ]);
      const proven = await first.redeem(page.url());
      assert.equal(proven.claims.sub, dana.id, 'signed in as dana');
      const identities = JSON.parse(await fed.warden.warden(['--json', 'user', 'identities', 'dana']));
      assert.deepEqual(identities.map((i) => [i.provider_id, i.subject]), [[PROVIDER, upstreamSubject]], 'linked');
      watcher.check();

      // A new browser (no cookie at Warden or upstream): the provider alone is enough.
      const fresh = await newPage(page.context().browser());
      try {
        const second = await authorizationRequest(fed.config, fed.callback.url);
        const freshWatcher = watch(fresh.page, { warden: baseUrl, upstream: fed.idp.issuer, callback: fed.callback.url });
        await fresh.page.goto(second.url.href);
        await pressProviderButton(fresh.page, fed.idp);
        await signInUpstream(fresh.page, upstreamSubject);
        await Promise.all([
          fresh.page.waitForURL((u) => u.href.startsWith(fed.callback.url)),
          fresh.page.getByRole('button', { name: 'Continue' }).click(),
        ]);
        assert.deepEqual(
          freshWatcher.wardenNavigations,
          ['GET /authorize', `POST /authorize/upstream/${PROVIDER}`, `GET /authorize/upstream/${PROVIDER}/callback`],
          'from the callback straight to the application',
        );
        const linked = await second.redeem(fresh.page.url());
        assert.equal(linked.claims.sub, dana.id, 'the same account');
        assert.deepEqual(linked.claims.amr, ['fed']);
        freshWatcher.check();
      } finally {
        await fresh.context.close();
      }
      assert.equal((await users(fed.warden)).length, 2, 'nobody signed up (admin and dana)');
    },
  );
}

// 3. Cancel at the upstream's consent page.
{
  let fed;
  upstreamTest(
    'cancelled at the upstream: back on the login page "cancelled or refused", no code, nobody signed in or up',
    async () => (fed = await startFederation({ providerFlags: ['--allow-signup'], firstParty: true })),
    async ({ page, baseUrl }) => {
      const watcher = watch(page, { warden: baseUrl, upstream: fed.idp.issuer, callback: fed.callback.url });
      const { url } = await authorizationRequest(fed.config, fed.callback.url);
      await page.goto(url.href);
      await pressProviderButton(page, fed.idp);
      await signInUpstream(page, 'erin@corp.example');
      // oidc-provider's devInteractions: "[ Cancel ]" answers access_denied to Warden's callback.
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(`${baseUrl}/authorize/upstream/${PROVIDER}/callback`)),
        page.getByRole('link', { name: '[ Cancel ]' }).click(),
      ]);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /Sign-in with Corp SSO was cancelled or refused/);
      await page.locator('#password').waitFor();
      await page.getByRole('button', { name: `Sign in with ${PROVIDER_NAME}` }).waitFor();

      assert.equal(fed.callback.hits.length, 0, 'the application was never called');
      assert.equal(await wardenSession(page.context()), undefined, 'no session at Warden');
      assert.deepEqual((await users(fed.warden)).map((u) => u.username), ['admin'], 'nobody signed up');
      // The same authorization request again: the login page, not a code.
      const again = await page.goto(url.href);
      assert.equal(again.status(), 200);
      await page.locator('#username').waitFor();
      assert.ok(page.url().startsWith(`${baseUrl}/authorize`), page.url());
      watcher.check();
    },
  );
}
