// Interop: pushed authorization requests (RFC 9126) between `warden serve` and
// openid-client 6: `buildAuthorizationUrlWithPAR` pushes the request with the
// client's authentication and builds the URL with the `request_uri` alone; the
// code flow then runs as usual. A client registered with --require-par is sent
// back with `invalid_request` when it does not push. A service registered with
// its public key only authenticates with openid-client's `PrivateKeyJwt` (RFC 7523)
// at /par and /token. `dynamicClientRegistration` registers a client (RFC 7591)
// with an initial access token and signs a user in with it.
//
// Run: node --test tests/browser/   (after `cargo build -p warden-server`)

import assert from 'node:assert/strict';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  test('a client with keys only: PrivateKeyJwt at /par and /token', { timeout: 60_000 }, async () => {
    const { privateKey, publicKey } = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const jwk = await webcrypto.subtle.exportKey('jwk', publicKey);
    const dir = mkdtempSync(join(tmpdir(), 'warden-jwks-'));
    let created;
    try {
      const file = join(dir, 'jwks.json');
      writeFileSync(file, JSON.stringify({ keys: [{ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }] }));
      created = JSON.parse(await server.warden([
        '--json', 'client', 'create', 'keyed app', '--jwks-file', file,
        '--redirect-uri', redirectUri, '--grant-type', 'authorization_code',
      ]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(created.client_secret, null, 'a client with keys gets no secret');
    const config = await client.discovery(new URL(issuer), created.client_id, undefined, client.PrivateKeyJwt(privateKey), {
      execute: [client.allowInsecureRequests],
    });
    assert.ok(config.serverMetadata().token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    const { location } = await signIn(url.href, { username: alice.username, password: alice.password });
    const tokens = await client.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier, expectedState: state });
    assert.equal(tokens.claims().sub, alice.id);
  });

  test('dynamicClientRegistration with an initial access token, then the code flow', { timeout: 60_000 }, async () => {
    const registrar = await createUser(server, { username: 'registrar', role: 'registrar', scopes: ['client:register'] });
    const tokenResponse = await fetch(new URL('/token', issuer), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: registrar.username, password: registrar.password, scope: 'client:register' }),
    });
    assert.equal(tokenResponse.status, 200);
    const { access_token: initialAccessToken } = await tokenResponse.json();

    const config = await client.dynamicClientRegistration(
      new URL(issuer),
      { redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', client_name: 'self-registered' },
      client.None(),
      { initialAccessToken, execute: [client.allowInsecureRequests] },
    );
    const metadata = config.clientMetadata();
    assert.equal(typeof metadata.client_id, 'string');
    assert.equal(metadata.client_secret, undefined, 'a public client has no secret');

    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    const { location, consentPage } = await signIn(url.href, { username: alice.username, password: alice.password });
    assert.ok(consentPage, 'a self-registered client always asks for consent');
    const tokens = await client.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier, expectedState: state });
    assert.equal(tokens.claims().sub, alice.id);

    // Without the token: refused.
    await assert.rejects(client.dynamicClientRegistration(new URL(issuer), { redirect_uris: [redirectUri] }, client.None(), {
      execute: [client.allowInsecureRequests],
    }));
  });
});
