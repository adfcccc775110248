// Start the upstream OpenID provider (idp/upstream-idp.mjs, oidc-provider) for
// the federation browser tests, and wait for its `listening <issuer>` line.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'idp', 'upstream-idp.mjs');
const STARTUP_TIMEOUT_MS = 20_000;

/**
 * @param {{port?: number, host?: string,
 *          clients: {client_id: string, client_secret: string, redirect_uris: string[]}[],
 *          extraClaims?: Record<string, unknown>}} config
 * @returns {Promise<{issuer: string, stderr: () => string, stop: () => Promise<void>}>}
 */
export async function startUpstreamIdp(config) {
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  const lines = createInterface({ input: child.stdout });
  const firstLine = new Promise((res) => {
    lines.once('line', res);
    lines.once('close', () => res(null));
  });
  lines.on('line', () => {});
  let timer;
  const timeout = new Promise((res) => {
    timer = setTimeout(() => res(undefined), STARTUP_TIMEOUT_MS);
  });
  const line = await Promise.race([firstLine, timeout]);
  clearTimeout(timer);
  const match = typeof line === 'string' ? /^listening (http:\/\/\S+)$/.exec(line) : null;
  if (!match) {
    await stop();
    const why = line === undefined ? `no listening line within ${STARTUP_TIMEOUT_MS} ms` : `first line ${JSON.stringify(line)}`;
    throw new Error(`upstream IdP (${SCRIPT}): ${why}\nstderr:\n${stderr}`);
  }
  return { issuer: match[1], stderr: () => stderr, stop };
}
