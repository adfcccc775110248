// Start the Warden server itself (`warden serve`) on a fresh SQLite database
// in a temporary directory, with a bootstrap administrator `admin`, and run
// its administration CLI (`warden user create …`) against the same database.
//
// The binary is target/debug/warden (or $WARDEN_SERVER_BINARY), which
// `cargo test --workspace` builds: warden-server's integration tests use it.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startBinary, targetDir } from './example.mjs';

export function serverBinary() {
  return process.env.WARDEN_SERVER_BINARY || join(targetDir(), 'debug', 'warden');
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read,
 * closed). For a server that must know its own URL before it starts, and for
 * redirect URIs nobody listens on.
 */
export function freePort() {
  return new Promise((res, rej) => {
    const probe = createServer();
    probe.once('error', rej);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => res(port));
    });
  });
}

/**
 * `warden serve` with `admin`/`adminPassword` created at start.
 * `stop()` ends the server and deletes its directory.
 *
 * By default it binds 127.0.0.1:0 with a placeholder issuer. With
 * `{ openid: true }` it binds a port chosen beforehand and its issuer is its
 * real origin `http://127.0.0.1:PORT` (OpenID clients check that the
 * discovery document's `issuer` is the URL they fetched it from), and login
 * throttling is off (tests sign in many times from one address).
 *
 * With `{ localhost: true }` (implies `openid`) the issuer and `baseUrl` are
 * `http://localhost:PORT` instead: WebAuthn needs a domain as relying party,
 * and browsers refuse an IP address.
 *
 * `env` adds settings (e.g. `{ WARDEN_REFRESH_REUSE_GRACE: '0' }`).
 *
 * `warden(args, { input })` runs the `warden` CLI on the server's database
 * (e.g. `warden(['--json', 'client', 'create', 'app'])`) and resolves to its
 * stdout; a non-zero exit rejects with its stderr.
 * @param {{adminPassword: string, openid?: boolean, localhost?: boolean, env?: Record<string, string>}} options
 *   adminPassword: at least 12 characters (the password policy)
 * @returns {Promise<{name: string, baseUrl: string, stderr: () => string, stop: () => Promise<void>,
 *   warden: (args: string[], options?: {input?: string}) => Promise<string>}>}
 */
export async function startWardenServer({ adminPassword, openid = false, localhost = false, env: extraEnv = {} }) {
  openid = openid || localhost;
  const binary = serverBinary();
  if (!existsSync(binary)) {
    throw new Error(
      `warden serve: the server binary ${binary} is missing: build it first ` +
        '(`cargo build -p warden-server` or `cargo test --workspace`, or run scripts/test)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'warden-browser-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // Nothing from the caller's WARDEN_* settings (a config file, a database, Redis)
  // reaches the server: only what this test sets.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WARDEN_')));
  Object.assign(env, {
    WARDEN_BIND: '127.0.0.1:0',
    // The port is only known once bound. The issuer is the `iss` and `aud` the
    // server writes and then checks against its own configuration, so any URL
    // works here; only the metadata document's URLs would be off.
    WARDEN_ISSUER: 'http://127.0.0.1',
    WARDEN_DATABASE_URL: `sqlite://${join(dir, 'w.db')}?mode=rwc`,
    WARDEN_MASTER_KEY_FILE: join(dir, 'k'),
    WARDEN_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
  });
  if (openid) {
    Object.assign(env, {
      WARDEN_LOGIN_ATTEMPTS_PER_ACCOUNT_IP: '0',
      WARDEN_LOGIN_ATTEMPTS_PER_ACCOUNT: '0',
      WARDEN_LOGIN_ATTEMPTS_PER_IP: '0',
    });
  }
  Object.assign(env, extraEnv);
  let server;
  // With a port chosen beforehand, another process may take it before the
  // server binds it: then try another port (a few times).
  for (let attempt = 1; !server; attempt++) {
    if (openid) {
      const port = await freePort();
      const host = localhost ? 'localhost' : '127.0.0.1';
      Object.assign(env, { WARDEN_BIND: `127.0.0.1:${port}`, WARDEN_ISSUER: `http://${host}:${port}` });
    }
    try {
      server = await startBinary('warden serve', binary, { args: ['serve'], cwd: dir, env });
    } catch (err) {
      if (openid && attempt < 3 && /address already in use/i.test(err.message)) continue;
      removeDir();
      throw err;
    }
  }
  return {
    ...server,
    baseUrl: localhost ? server.baseUrl.replace('127.0.0.1', 'localhost') : server.baseUrl,
    warden: (args, options) => runCli(binary, args, { cwd: dir, env, ...options }),
    stop: async () => {
      try {
        await server.stop();
      } finally {
        removeDir();
      }
    },
  };
}

/** Run `binary args…` with `input` on stdin; resolves to stdout, rejects on a non-zero exit. */
function runCli(binary, args, { cwd, env, input = '' }) {
  return new Promise((res, rej) => {
    const child = spawn(binary, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.once('error', rej);
    child.once('close', (code, signal) => {
      if (code === 0) res(stdout);
      else rej(new Error(`warden ${args.join(' ')}: exit ${code ?? signal}\nstderr:\n${stderr}\nstdout:\n${stdout}`));
    });
    child.stdin.end(input);
  });
}
