// An independent, OpenID-certified upstream identity provider for the
// federation tests: `oidc-provider` (npm) with its development interactions.
//
// Config: a JSON object, as the first argument or in $UPSTREAM_IDP_CONFIG:
//   {
//     "port": 0,                    // 0 (default): any free port
//     "host": "127.0.0.1",          // also the issuer's host
//     "clients": [{"client_id", "client_secret", "redirect_uris": [...], ...other client metadata}],
//     "extraClaims": {"claim": value, ...}   // optional, added to every account (scope `profile`)
//   }
//
// Accounts: any login name is the subject and any password is accepted (devInteractions).
//   email          = the subject without `+unverified`
//   email_verified = the subject does not contain `+unverified`
//   groups         = ["users"], plus "admin" when the subject contains `+admin`
// Scopes: openid, email, profile (name, preferred_username, groups, extra claims), groups.
// PKCE is required for every client. The issuer is http://<host>:<port>.
//
// When ready, prints exactly one line to stdout: `listening <issuer>`.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const raw = process.argv[2] ?? process.env.UPSTREAM_IDP_CONFIG ?? '{}';
const config = JSON.parse(raw);
const host = config.host ?? '127.0.0.1';
const extraClaims = config.extraClaims ?? {};
const clients = (config.clients ?? []).map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));

function account(sub) {
  const groups = ['users'];
  if (sub.includes('+admin')) groups.push('admin');
  const email = sub.replaceAll('+unverified', '');
  const local = email.split('@')[0].replaceAll('+admin', '');
  return {
    sub,
    email,
    email_verified: !sub.includes('+unverified'),
    name: local.charAt(0).toUpperCase() + local.slice(1),
    preferred_username: local,
    groups,
    ...extraClaims,
  };
}

// A fresh signing key per run, published with its kid.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `upstream-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };

let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, host, resolve);
});
const issuer = `http://${host}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'groups', ...Object.keys(extraClaims)],
    groups: ['groups'],
  },
  features: {
    devInteractions: { enabled: true },
  },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return account(sub);
      },
    };
  },
});
handler = provider.callback();

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(`listening ${issuer}\n`);
