#!/usr/bin/env bash
# Builds the review console (review-console/ -> review-console/dist/) when it is missing or older than its sources,
# so `npm test` and `npm run demo` can call this every time at no cost.
#   bash scripts/build-console.sh           build if stale
#   bash scripts/build-console.sh --force   build anyway
#   bash scripts/build-console.sh --check   type-check the console first (tsc), then build if stale
#   bash scripts/build-console.sh --quiet   say nothing when it is up to date
# The build goes to a scratch directory and replaces dist/ only when it succeeded (a running server never sees
# a half-written dist/); text assets get .br and .gz siblings that api/console.ts serves to browsers that accept them.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
quiet=0
check=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    --quiet) quiet=1 ;;
    *) echo "build-console: unknown option $arg" >&2; exit 2 ;;
  esac
done

dir=review-console
out=$dir/dist
sources=("$dir/src" "$dir/index.html" "$dir/vite.config.ts")
[[ -d $dir/public ]] && sources+=("$dir/public")

if [[ $check == 1 ]]; then
  node_modules/.bin/tsc -p "$dir/tsconfig.json"
  node_modules/.bin/tsc -p "$dir/tsconfig.node.json"
fi

if [[ $force == 0 && -f $out/index.html ]] && [[ -z $(find "${sources[@]}" -newer "$out/index.html" -print -quit) ]]; then
  [[ $quiet == 1 ]] || echo "review console is up to date ($out)"
  exit 0
fi

if [[ ! -x node_modules/.bin/vite ]]; then
  echo "build-console: vite is not installed; run npm ci first" >&2
  exit 1
fi

tmp=node_modules/.cache/warden-console-build
rm -rf "$tmp"
mkdir -p "$(dirname "$tmp")"
start=$(date +%s)
CONSOLE_OUT_DIR="$(pwd)/$tmp" node_modules/.bin/vite build --config "$dir/vite.config.ts" --logLevel warn

# precompress text assets (served by api/console.ts when the browser accepts br or gzip)
node --input-type=module -e '
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
const walk = (d) => readdirSync(d).flatMap((f) => statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]);
for (const f of walk(process.argv[1])) {
  if (!/\.(js|mjs|css|html|svg|json|txt|map)$/.test(f)) continue;
  const buf = readFileSync(f);
  if (buf.length < 1024) continue;
  writeFileSync(f + ".br", brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length } }));
  writeFileSync(f + ".gz", gzipSync(buf, { level: 9 }));
}' "$tmp"

old=node_modules/.cache/warden-console-old
rm -rf "$old"
if [[ -d $out ]]; then mv "$out" "$old"; fi
mv "$tmp" "$out"
rm -rf "$old"
size=$(du -sk --exclude='*.br' --exclude='*.gz' "$out" | cut -f1)
echo "review console built in $(( $(date +%s) - start )) s: $out (${size} KiB)"
