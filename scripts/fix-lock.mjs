// Adds lock entries for platform-specific optional packages that this machine's registry mirror does not
// serve (npm install skips them silently, then `npm ci` refuses the lock as out of sync). Each entry carries
// its os/cpu, so npm ci skips it on this platform and would fetch it normally on that one.
// Run after `npm install` changes package-lock.json: node scripts/fix-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const platform = /-(darwin|linux|win32|freebsd|android)-(arm64|x64|arm|ia32)(?:-|$)/;
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const m = platform.exec(name);
    if (lock.packages[key] || lock.packages[`${path}/${key}`] || !m) continue;
    lock.packages[key] = { version, cpu: [m[2]], os: [m[1]], optional: true };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lock: added ${added} platform entries`);
