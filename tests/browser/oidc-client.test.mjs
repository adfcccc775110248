// Interop: `warden serve` as an OpenID provider for openid-client 6 (panva's
// certified relying-party library), a public client (PKCE, no secret) and a
// confidential one (client_secret_basic plus PKCE). The user's browser is
// played with plain fetch (lib/oidc.mjs): login form, consent form, redirect.
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import * as client from 'openid-client';

import { createClient, createUser, decodeJwt, signIn } from './lib/oidc.mjs';
import { freePort, startWardenServer } from './lib/server.mjs';

const TIMEOUT_MS = 60_000;

describe('openid-client 6 against warden serve', { timeout: 120_000 }, () => {
  let server;
  let issuer;
  let alice;
  let redirectUri;

  before(async () => {
    server = await startWardenServer({
      adminPassword: randomBytes(15).toString('base64url'),
      openid: true,
    });
    issuer = server.baseUrl;
    alice = await createUser(server, { username: 'alice', role: 'reader', scopes: ['me', 'items'] });
    // The client only reads the redirect's Location: nothing listens there.
    redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
  });
  after(async () => {
    await server?.stop();
  });

  /**
   * Runs `body`; on failure appends what openid-client saw (an error
   * response's body, or the response it could not accept) and the server's log.
   */
  const withServerLog = (body) => async () => {
    try {
      await body();
    } catch (err) {
      const { cause } = err;
      if (cause instanceof Response) err.message += `\n--- response: HTTP ${cause.status} from ${cause.url}`;
      else if (cause && typeof cause === 'object') err.message += `\n--- response body: ${JSON.stringify(cause)}`;
      const log = (server?.stderr() ?? '').replace(/\x1b\[[0-9;]*m/g, '');
      err.message += `\n--- warden serve stderr (tail):\n${log.slice(-3000)}`;
      throw err;
    }
  };

  const kinds = [
    { kind: 'public', auth: () => client.None(), create: { public: true } },
    { kind: 'confidential', auth: (secret) => client.ClientSecretBasic(secret), create: {} },
  ];

  for (const { kind, auth, create } of kinds) {
    test(`${kind} client: discovery, code flow with PKCE, ID token, userinfo, refresh rotation`, { timeout: TIMEOUT_MS }, withServerLog(async () => {
      const registered = await createClient(server, `${kind} app`, {
        ...create,
        redirectUris: [redirectUri],
        grantTypes: ['authorization_code', 'refresh_token'],
      });
      if (kind === 'public') assert.equal(registered.client_secret, null, 'a public client has no secret');
      else assert.equal(typeof registered.client_secret, 'string', 'a confidential client gets a secret');
      const clientId = registered.client_id;

      // Discovery: openid-client checks that the document's issuer is the URL it was fetched from.
      const config = await client.discovery(
        new URL(issuer),
        clientId,
        registered.client_secret ?? undefined,
        auth(registered.client_secret),
        { execute: [client.allowInsecureRequests] }, // plain http on loopback
      );
      const metadata = config.serverMetadata();
      assert.equal(metadata.issuer, issuer);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);

      // The authorization request, as the library builds it.
      const pkceCodeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile email',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
      });

      // The user signs in and allows the client (not first-party: consent is asked).
      const { location, consentPage } = await signIn(authorizationUrl.href, { username: alice.username, password: alice.password });
      assert.ok(consentPage, 'a client that is not first-party gets the consent page');
      const callback = new URL(location);
      assert.equal(`${callback.origin}${callback.pathname}`, redirectUri, `redirected to ${location}`);
      assert.equal(callback.searchParams.get('state'), state);
      assert.equal(callback.searchParams.get('iss'), issuer, 'RFC 9207 iss in the authorization response');
      assert.ok(callback.searchParams.get('code'), `no code in ${location}`);

      // Code exchange: the library checks state and iss, sends the verifier, verifies the ID token
      // (signature with the JWKS, iss, aud, exp, nonce).
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token, `tokens: ${Object.keys(tokens)}`);
      assert.deepEqual(new Set(tokens.scope.split(' ')), new Set(['openid', 'profile', 'email']), `granted scope: ${tokens.scope}`);

      const claims = tokens.claims();
      assert.equal(claims.iss, issuer);
      assert.ok([claims.aud].flat().includes(clientId), `aud ${JSON.stringify(claims.aud)} names the client`);
      assert.equal(claims.nonce, nonce);
      assert.equal(claims.sub, alice.id, 'sub is the account id');
      // RS256 unless the client was registered with --id-token-alg.
      assert.equal(decodeJwt(tokens.id_token).header.alg, 'RS256');
      // The access token is about the same user.
      assert.equal(decodeJwt(tokens.access_token).payload.sub, claims.sub);

      // UserInfo with the access token; the library checks sub matches the ID token's.
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(userinfo.sub, claims.sub);
      assert.equal(userinfo.preferred_username, alice.username);
      assert.equal(userinfo.email, alice.email);

      // Refresh: new tokens, and the refresh token rotates.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(refreshed.access_token, 'a new access token');
      assert.ok(refreshed.refresh_token, 'a new refresh token');
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
      if (refreshed.id_token) assert.equal(refreshed.claims().sub, claims.sub);
      const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
      assert.equal(again.preferred_username, alice.username);

      // The spent refresh token is refused (the server counts whole seconds: wait past the
      // second it was used in), and that replay revokes its successor too (RFC 9700 §4.14.2).
      await new Promise((res) => setTimeout(res, 1200));
      const invalidGrant = (err) => {
        assert.ok(err instanceof client.ResponseBodyError, `expected an OAuth error response, got ${err}`);
        assert.equal(err.error, 'invalid_grant');
        return true;
      };
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), invalidGrant, 'the spent refresh token');
      await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), invalidGrant, 'its successor after the replay');
    }));
  }

  test('an unregistered redirect_uri gets an error page, never a redirect', { timeout: TIMEOUT_MS }, withServerLog(async () => {
    const { client_id } = await createClient(server, 'strict app', {
      public: true,
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code'],
    });
    const url = new URL('/authorize', issuer);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id,
      redirect_uri: 'http://127.0.0.1:1/evil',
      scope: 'openid',
      state: 's',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 400, `GET ${url} -> ${res.status} ${res.headers.get('location') ?? ''}`);
    assert.equal(res.headers.get('location'), null);
  }));

  test('Deny on the consent page sends error=access_denied to the client', { timeout: TIMEOUT_MS }, withServerLog(async () => {
    const { client_id } = await createClient(server, 'denied app', {
      public: true,
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code'],
    });
    const config = await client.discovery(new URL(issuer), client_id, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const state = client.randomState();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const { location } = await signIn(authorizationUrl.href, { ...alice, decision: 'deny' });
    const callback = new URL(location);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    assert.equal(callback.searchParams.get('error'), 'access_denied', `redirected to ${location}`);
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('code'), null);
    // The library turns it into an error for the application.
    await assert.rejects(client.authorizationCodeGrant(config, callback, { expectedState: state }), (err) => {
      assert.equal(err.error, 'access_denied', String(err));
      return true;
    });
  }));
});
