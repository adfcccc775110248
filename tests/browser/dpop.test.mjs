// Interop: DPoP (RFC 9449) between `warden serve` and openid-client 6 (panva's
// certified relying-party library, which makes the proofs itself): the code
// flow with PKCE for a public client and client_credentials for a confidential
// one, token, refresh and userinfo bound to the client's key, the server's own
// resource (`/users/me`) with `fetchProtectedResource`, nonces answered and
// retried by the library, and the stolen access token refused without the key.
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import * as client from 'openid-client';

import { createClient, createUser, decodeJwt, signIn } from './lib/oidc.mjs';
import { freePort, startWardenServer } from './lib/server.mjs';

const TIMEOUT_MS = 60_000;

for (const nonces of [false, true]) {
  describe(`openid-client 6 with DPoP against warden serve${nonces ? ' requiring nonces' : ''}`, { timeout: 120_000 }, () => {
    let server;
    let issuer;
    let alice;
    let redirectUri;

    before(async () => {
      server = await startWardenServer({
        adminPassword: randomBytes(15).toString('base64url'),
        openid: true,
        env: nonces ? { WARDEN_DPOP_NONCE: 'true' } : {},
      });
      issuer = server.baseUrl;
      alice = await createUser(server, { username: 'alice', role: 'reader', scopes: ['me'] });
      redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
    });
    after(async () => {
      await server?.stop();
    });

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

    test('public client: code flow, refresh and userinfo bound to the key; the token alone is useless', { timeout: TIMEOUT_MS }, withServerLog(async () => {
      const { client_id } = await createClient(server, 'dpop app', {
        public: true,
        redirectUris: [redirectUri],
        grantTypes: ['authorization_code', 'refresh_token'],
      });
      const config = await client.discovery(new URL(issuer), client_id, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
      });
      const algs = config.serverMetadata().dpop_signing_alg_values_supported;
      assert.ok(algs.includes('ES256') && algs.includes('EdDSA'), `advertised: ${algs}`);

      const keyPair = await client.randomDPoPKeyPair('ES256');
      const DPoP = client.getDPoPHandle(config, keyPair);

      const pkceCodeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile me',
        state,
        code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
      });
      const { location } = await signIn(authorizationUrl.href, { username: alice.username, password: alice.password });
      const tokens = await client.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier, expectedState: state }, undefined, { DPoP });
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      const jkt = decodeJwt(tokens.access_token).payload.cnf?.jkt;
      assert.equal(typeof jkt, 'string', 'the access token names its key (cnf.jkt)');
      const sub = tokens.claims().sub;

      // UserInfo and the server's own API, each with a fresh proof made by the library.
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP });
      assert.equal(userinfo.preferred_username, alice.username);
      const me = await client.fetchProtectedResource(config, tokens.access_token, new URL('/users/me', issuer), 'GET', undefined, undefined, { DPoP });
      assert.equal(me.status, 200);
      assert.equal((await me.json()).username, alice.username);

      // Stolen: the token as a bearer token, or with another key's proofs.
      const asBearer = await fetch(new URL('/users/me', issuer), { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(asBearer.status, 401);
      const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
      await assert.rejects(
        client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: thief }),
        (err) => err instanceof client.WWWAuthenticateChallengeError || err instanceof client.ResponseBodyError || /401/.test(String(err)),
      );

      // Refresh with the key: rotated and bound to the same key; without it, refused.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
      assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
      assert.equal(decodeJwt(refreshed.access_token).payload.cnf.jkt, jkt);
      await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (err) => {
        assert.equal(err.error, 'invalid_grant');
        return true;
      }, 'a bound refresh token needs its key');
      const again = await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP });
      assert.ok(again.access_token);
    }));

    test('confidential client: client_credentials bound, introspection reports the key', { timeout: TIMEOUT_MS }, withServerLog(async () => {
      const { client_id, client_secret } = await createClient(server, 'dpop service', { grantTypes: ['client_credentials'] });
      const config = await client.discovery(new URL(issuer), client_id, client_secret, client.ClientSecretBasic(client_secret), {
        execute: [client.allowInsecureRequests],
      });
      const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('EdDSA'));
      const tokens = await client.clientCredentialsGrant(config, {}, { DPoP });
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      const introspection = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(introspection.active, true);
      assert.equal(introspection.token_type, 'DPoP');
      assert.equal(introspection.cnf.jkt, decodeJwt(tokens.access_token).payload.cnf.jkt);
    }));
  });
}
