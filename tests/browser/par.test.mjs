// Interop: pushed authorization requests (RFC 9126) between `warden serve` and
// openid-client 6: `buildAuthorizationUrlWithPAR` pushes the request with the
// client's authentication and builds the URL with the `request_uri` alone; the
// code flow then runs as usual. A client registered with --require-par is sent
// back with `invalid_request` when it does not push.
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import * as client from 'openid-client';

import { createUser, signIn } from './lib/oidc.mjs';
import { freePort, startWardenServer } from './lib/server.mjs';

describe('openid-client 6 pushes its authorization requests to warden serve', { timeout: 120_000 }, () => {
  let server;
  let issuer;
  let alice;
  let redirectUri;

  before(async () => {
    server = await startWardenServer({ adminPassword: randomBytes(15).toString('base64url'), openid: true });
    issuer = server.baseUrl;
    alice = await createUser(server, { username: 'alice', role: 'reader', scopes: ['me'] });
    redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
  });
  after(async () => {
    await server?.stop();
  });

  test('a confidential client that must push: PAR, login, code, tokens', { timeout: 60_000 }, async () => {
    const created = JSON.parse(await server.warden([
      '--json', 'client', 'create', 'par app', '--require-par',
      '--redirect-uri', redirectUri, '--grant-type', 'authorization_code',
    ]));
    const config = await client.discovery(new URL(issuer), created.client_id, created.client_secret, client.ClientSecretBasic(created.client_secret), {
      execute: [client.allowInsecureRequests],
    });
    assert.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${issuer}/par`);

    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const params = {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    };

    // Without pushing, the client is sent back with an error.
    const direct = client.buildAuthorizationUrl(config, params);
    const refused = new URL((await signIn(direct.href, { username: alice.username, password: alice.password })).location);
    assert.equal(refused.searchParams.get('error'), 'invalid_request', `redirected to ${refused}`);
    assert.equal(refused.searchParams.get('state'), state);

    const url = await client.buildAuthorizationUrlWithPAR(config, params);
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
    const { location } = await signIn(url.href, { username: alice.username, password: alice.password });
    const tokens = await client.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier, expectedState: state });
    assert.ok(tokens.access_token && tokens.id_token);
    assert.equal(tokens.claims().sub, alice.id);

    // The request_uri was used once: the same URL again is an error page.
    const again = await fetch(url, { redirect: 'manual' });
    assert.equal(again.status, 400);
    assert.equal(again.headers.get('location'), null);
  });
});
