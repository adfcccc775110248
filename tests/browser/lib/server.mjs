// Start the Warden server itself (`warden serve`) on a fresh SQLite database
// in a temporary directory, with a bootstrap administrator `admin`.
//
// The binary is target/debug/warden (or $WARDEN_SERVER_BINARY), which
// `cargo test --workspace` builds: warden-server's integration tests use it.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startBinary, targetDir } from './example.mjs';

export function serverBinary() {
  return process.env.WARDEN_SERVER_BINARY || join(targetDir(), 'debug', 'warden');
}

/**
 * `warden serve` on 127.0.0.1:0 with `admin`/`adminPassword` created at start.
 * `stop()` ends the server and deletes its directory.
 * @param {{adminPassword: string}} options at least 12 characters (the password policy)
 * @returns {Promise<{name: string, baseUrl: string, stderr: () => string, stop: () => Promise<void>}>}
 */
export async function startWardenServer({ adminPassword }) {
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
  let server;
  try {
    server = await startBinary('warden serve', binary, { args: ['serve'], cwd: dir, env });
  } catch (err) {
    removeDir();
    throw err;
  }
  return {
    ...server,
    stop: async () => {
      try {
        await server.stop();
      } finally {
        removeDir();
      }
    },
  };
}
