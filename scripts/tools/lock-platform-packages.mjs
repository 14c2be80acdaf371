// Run after regenerating package-lock.json: node scripts/tools/lock-platform-packages.mjs
// Records litesvm's platform packages that the registry mirror does not serve, with their
// os/cpu/libc, so `npm ci` on linux-x64-gnu skips them instead of failing the lock check.
import fs from 'node:fs';
const path = process.argv[2] || 'package-lock.json';
const lock = JSON.parse(fs.readFileSync(path, 'utf8'));
const ver = lock.packages['node_modules/litesvm'].version;
const plats = {
  'litesvm-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'litesvm-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'litesvm-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'litesvm-linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'litesvm-linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
};
for (const [name, p] of Object.entries(plats)) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  lock.packages[key] = { version: ver, ...p, optional: true, engines: { node: '>= 10' } };
}
const sorted = {};
for (const k of Object.keys(lock.packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
  sorted[k] = lock.packages[k];
lock.packages = sorted;
fs.writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
