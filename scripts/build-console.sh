#!/usr/bin/env bash
# Builds the web apps — the review console (review-console/ -> /console), the performer studio (web/studio/ ->
# /studio) and the viewer watch page (web/watch/ -> /watch) — each when its build is missing or older than its
# sources, so `npm test` and `npm run demo` can call this every time at no cost.
#   bash scripts/build-console.sh                 build what is stale
#   bash scripts/build-console.sh --force         build everything anyway
#   bash scripts/build-console.sh --check         type-check the apps first (tsc), then build what is stale
#   bash scripts/build-console.sh --quiet         say nothing about apps that are up to date
#   bash scripts/build-console.sh web/studio      only the named app(s)
# A build goes to a scratch directory and replaces <app>/dist only when it succeeded (a running server never sees
# a half-written dist/); text assets get .br and .gz siblings that api/console.ts serves to browsers that accept them.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
quiet=0
check=0
apps=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    --quiet) quiet=1 ;;
    review-console|web/studio|web/watch) apps+=("$arg") ;;
    *) echo "build-console: unknown option $arg" >&2; exit 2 ;;
  esac
done
[[ ${#apps[@]} -eq 0 ]] && apps=(review-console web/studio web/watch)

if [[ ! -x node_modules/.bin/vite ]]; then
  echo "build-console: vite is not installed; run npm ci first" >&2
  exit 1
fi
if [[ $check == 1 ]]; then
  node_modules/.bin/tsc -p review-console/tsconfig.json
  node_modules/.bin/tsc -p review-console/tsconfig.node.json
  node_modules/.bin/tsc -p web/tsconfig.json
  node_modules/.bin/tsc -p web/tsconfig.node.json
fi

build() {
  local dir=$1 out=$1/dist sources
  sources=("$dir/src" "$dir/index.html" "$dir/vite.config.ts")
  [[ -d $dir/public ]] && sources+=("$dir/public")
  [[ $dir == web/* ]] && sources+=(web/common web/i18n web/vite.shared.ts)
  if [[ $force == 0 && -f $out/index.html ]] && [[ -z $(find "${sources[@]}" -newer "$out/index.html" -print -quit) ]]; then
    [[ $quiet == 1 ]] || echo "$dir is up to date ($out)"
    return 0
  fi
  local name=${dir//\//-}
  local tmp=node_modules/.cache/warden-build-$name old=node_modules/.cache/warden-old-$name
  rm -rf "$tmp"
  mkdir -p "$(dirname "$tmp")"
  local start
  start=$(date +%s)
  CONSOLE_OUT_DIR="$(pwd)/$tmp" WEB_OUT_DIR="$(pwd)/$tmp" node_modules/.bin/vite build --config "$dir/vite.config.ts" --logLevel warn
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
  rm -rf "$old"
  if [[ -d $out ]]; then mv "$out" "$old"; fi
  mv "$tmp" "$out"
  rm -rf "$old"
  local size
  size=$(du -sk --exclude='*.br' --exclude='*.gz' "$out" | cut -f1)
  echo "$dir built in $(( $(date +%s) - start )) s: $out (${size} KiB)"
}

for app in "${apps[@]}"; do build "$app"; done
