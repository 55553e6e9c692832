// The browser tests' shared support: the real binary (`target/debug/paygate serve`) on a free
// port over a fresh SQLite file, and a small REST client. Node built-ins only.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
export const BINARY = process.env.PAYGATE_BIN || join(TARGET, 'debug', 'paygate');
export const ARTIFACTS = join(ROOT, 'target', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export class StepFailed extends Error {}
export function check(condition, message) {
  if (!condition) throw new StepFailed(message);
}

/**
 * Starts `paygate serve` in `dir` (its SQLite file there, port 0, no demo shop unless `env` says
 * otherwise). `ready(output)` reads what the server printed so far and returns what the test
 * needs (the base URL, keys) once it is all there, else null.
 */
export function startServer(dir, ready, env = {}) {
  check(existsSync(BINARY), `${BINARY} is missing: run \`cargo build\` first (scripts/test-browser does)`);
  const fullEnv = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'pg.db')}`,
    // Port 0: the OS picks a free port, and the public URL follows the bound address.
    PAYGATE_BIND: '127.0.0.1:0',
    PAYGATE_DEMO_SHOP: 'off',
    RUST_LOG: process.env.RUST_LOG || 'warn',
    ...env,
  };
  // One process on its own: no public URL of another deployment, no shared Redis.
  delete fullEnv.PAYGATE_PUBLIC_URL;
  delete fullEnv.REDIS_URL;
  delete fullEnv.PAYGATE_CONFIG;
  const child = spawn(BINARY, ['serve'], { cwd: dir, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const started = new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new StepFailed(`the server was not ready within 30 s:\n${output}`)), 30_000);
    const look = () => {
      const value = ready(output);
      if (value) {
        clearTimeout(timer);
        resolvePromise(value);
      }
    };
    child.stdout.on('data', (chunk) => { output += chunk; look(); });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new StepFailed(`the server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  return { child, ready: started };
}

/** Stops the server: SIGTERM, then SIGKILL after 10 s. */
export async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timeout = new Promise((r) => setTimeout(r, 10_000, 'timeout'));
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** One JSON request; `{ status, json, text }`. */
export async function rest(base, method, path, { token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, json, text };
}
