// Start one of warden's binaries and wait for its "listening on" line.
//
// Contract: the binary binds $WARDEN_BIND (we pass 127.0.0.1:0) and prints
// exactly `listening on http://127.0.0.1:PORT` as its first stdout line. The
// examples (target/debug/examples/<name>) and `warden serve` both do.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const STARTUP_TIMEOUT_MS = 30_000;
const LISTENING_RE = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/;

/** Cargo's target directory: $CARGO_TARGET_DIR, else <repo>/target. */
export function targetDir() {
  const target = process.env.CARGO_TARGET_DIR || 'target';
  return isAbsolute(target) ? target : join(REPO_ROOT, target);
}

export function examplesDir() {
  if (process.env.WARDEN_EXAMPLES_DIR) return process.env.WARDEN_EXAMPLES_DIR;
  return join(targetDir(), 'debug', 'examples');
}

/**
 * @param {string} name example name
 * @param {Record<string,string>} secrets env vars (credentials) for the example
 * @returns {Promise<{name: string, baseUrl: string, stderr: () => string, stop: () => Promise<void>}>}
 */
export async function startExample(name, secrets = {}) {
  const binary = join(examplesDir(), name);
  if (!existsSync(binary)) {
    throw new Error(
      `${name}: example binary ${binary} is missing: build the examples first ` +
        '(`cargo build --examples -p warden` or `cargo test --workspace`, or run scripts/test)',
    );
  }
  return startBinary(name, binary, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...secrets, WARDEN_BIND: '127.0.0.1:0' },
  });
}

/**
 * Spawn `binary` with `args` in `cwd` with exactly `env`, and wait for its
 * listening line. `name` labels errors.
 * @returns {Promise<{name: string, baseUrl: string, stderr: () => string, stop: () => Promise<void>}>}
 */
export async function startBinary(name, binary, { args = [], cwd, env }) {
  const child = spawn(binary, args, {
    cwd,
    env,
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

  // Keep draining stdout after the first line so the child never blocks.
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
  const spawnError = new Promise((res) => child.once('error', (err) => res({ err })));
  const first = await Promise.race([firstLine, timeout, spawnError]);
  clearTimeout(timer);

  const giveUp = async (problem) => {
    await stop();
    const { code, signal } = await exited;
    return new Error(`${name}: ${problem} (exit ${code ?? signal})\nstderr:\n${stderr}`);
  };
  if (first && typeof first === 'object') throw await giveUp(`failed to spawn: ${first.err.message}`);
  if (first === undefined) throw await giveUp(`no stdout line within ${STARTUP_TIMEOUT_MS / 1000}s`);
  if (first === null) throw await giveUp('exited before printing the listening line');
  const m = LISTENING_RE.exec(first.replace(/\r$/, ''));
  if (!m) {
    throw await giveUp(
      `first stdout line must be exactly 'listening on http://127.0.0.1:PORT', got ${JSON.stringify(first)}`,
    );
  }
  return { name, baseUrl: m[1], stderr: () => stderr, stop };
}
