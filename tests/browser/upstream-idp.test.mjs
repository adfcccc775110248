// The upstream IdP the federation tests use (idp/upstream-idp.mjs, oidc-provider),
// started through lib/upstream-idp.mjs and discovered by openid-client.
//
// Run: node --test tests/browser/upstream-idp.test.mjs   (after `npm ci` in tests/browser)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as client from 'openid-client';

import { startUpstreamIdp } from './lib/upstream-idp.mjs';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';

describe('upstream IdP (oidc-provider)', { timeout: 60_000 }, () => {
  let idp;

  before(async () => {
    idp = await startUpstreamIdp({
      clients: [{ client_id: 'warden-rp', client_secret: 'rp-secret', redirect_uris: [REDIRECT_URI] }],
    });
  });
  after(async () => {
    await idp?.stop();
  });

  test('openid-client discovers it, and an authorization request goes to its login page', async () => {
    const config = await client.discovery(new URL(idp.issuer), 'warden-rp', 'rp-secret', undefined, {
      execute: [client.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, idp.issuer);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);

    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: client.randomState(),
    });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 303, idp.stderr());
    assert.match(response.headers.get('location'), /\/interaction\//);
  });
});
