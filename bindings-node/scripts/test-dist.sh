#!/usr/bin/env bash
# `make test-dist-node`: installs the tarballs `make dist-node` wrote into DIST (default dist/) in
# fresh projects outside the repository, with no Rust toolchain on PATH, and checks that
#   - the platform's seed TypeScript snippet (examples/platform-snippets/business_metrics.ts, with
#     only its import changed) type-checks with tsc against the installed types, runs on node with
#     the installed binary, and its metrics are served and scraped with the expected families;
#   - without the platform package, requiring footmetrics fails with an error naming that package.
# TypeScript comes from npm, at the version bindings-node's dev tools pin; footmetrics' own
# packages come from the tarballs only (`npm install --offline`).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dist=$(cd "${1:-dist}" && pwd)

version=$(node -p "require('./bindings-node/scripts/dist').workspaceVersion()")
host=$(node -p "require('./bindings-node/lib/loader').platformName()")
typescript=$(node -p "require('./bindings-node/package.json').devDependencies.typescript")
main_tgz=$dist/footmetrics-$version.tgz
platform_tgz=$dist/footmetrics-$host-$version.tgz
for f in "$main_tgz" "$platform_tgz"; do
  [ -f "$f" ] || { echo "missing $f: run make dist-node first"; exit 1; }
done
snippet=$root/examples/platform-snippets/business_metrics.ts

work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# No Rust toolchain: every PATH entry holding cargo or rustc is replaced by a folder of links to
# its other programs (a toolchain installed in /usr/bin leaves node, npm and the rest reachable).
clean_path=
IFS=: read -ra entries <<< "$PATH"
for i in "${!entries[@]}"; do
  d=${entries[$i]}
  [ -n "$d" ] && [ -d "$d" ] || continue
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then
    shadow=$work/path/$i
    mkdir -p "$shadow"
    for f in "$d"/*; do
      case ${f##*/} in
        cargo | cargo-* | rustc | rustdoc | rustup | rust-* | rustfmt | clippy-driver) ;;
        *) ln -s "$f" "$shadow/" ;;
      esac
    done
    d=$shadow
  fi
  clean_path=${clean_path:+$clean_path:}$d
done
export PATH=$clean_path
unset CARGO CARGO_HOME RUSTUP_HOME RUSTUP_TOOLCHAIN CARGO_TARGET_DIR RUSTC
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
  echo "cargo or rustc is still on PATH"; exit 1
fi
echo "PATH has no cargo and no rustc"

npm_install() { npm install --no-audit --no-fund --loglevel=error "$@"; }

# 1. Both tarballs, then the seed snippet through tsc and node, served and scraped.
app=$work/app
mkdir -p "$app"
cd "$app"
echo '{"name":"dist-check","version":"1.0.0","private":true}' > package.json
npm_install "typescript@$typescript"
npm_install --offline "$main_tgz" "$platform_tgz"
[ -z "$(find node_modules/footmetrics -name '*.node')" ] || { echo "the footmetrics package carries a .node file"; exit 1; }
platform_files=$(cd "node_modules/@footmetrics/$host" && find . -type f | sort | tr '\n' ' ')
[ "$platform_files" = "./footmetrics.$host.node ./package.json " ] ||
  { echo "@footmetrics/$host holds: $platform_files"; exit 1; }

sed '1,/---- verbatim below ----/d' "$snippet" > business_metrics.ts
grep -q "from 'prom-client'" business_metrics.ts
sed -i "s/from 'prom-client'/from 'footmetrics'/" business_metrics.ts
cat > tsconfig.json <<'EOF'
{
  "compilerOptions": { "strict": true, "target": "es2020", "module": "commonjs", "types": [], "outDir": "out" },
  "files": ["business_metrics.ts"]
}
EOF
npx tsc -p tsconfig.json
cat > serve.js <<'EOF'
// Runs the compiled snippet, then serves the default registry and reports the port and the
// addon file Node loaded.
require('./out/business_metrics.js');
const http = require('node:http');
const { register } = require('footmetrics');
const server = http.createServer(async (req, res) => {
	res.setHeader('Content-Type', register.contentType);
	res.end(await register.metrics());
});
server.listen(0, '127.0.0.1', () => {
	const addons = Object.keys(require.cache).filter(f => f.endsWith('.node'));
	process.stdout.write(JSON.stringify({ port: server.address().port, addons }) + '\n');
});
EOF
cat > scrape.js <<'EOF'
require('node:http').get(`http://127.0.0.1:${process.argv[2]}/metrics`, res => {
	let body = '';
	res.setEncoding('utf8').on('data', d => (body += d)).on('end', () => {
		if (res.statusCode !== 200) { console.error(`status ${res.statusCode}`); process.exit(1); }
		process.stdout.write(body);
	});
}).on('error', e => { console.error(e.message); process.exit(1); });
EOF
node serve.js > serve.out 2> serve.err &
server=$!
for _ in $(seq 100); do [ -s serve.out ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -s serve.out ] || { echo "the snippet's server did not start:"; cat serve.err; exit 1; }
port=$(node -p "JSON.parse(require('fs').readFileSync('serve.out', 'utf8')).port")
addons=$(node -p "JSON.parse(require('fs').readFileSync('serve.out', 'utf8')).addons.join(' ')")
[ "$addons" = "$app/node_modules/@footmetrics/$host/footmetrics.$host.node" ] ||
  { echo "loaded addon(s): $addons; want the one of @footmetrics/$host"; exit 1; }
echo "loaded $addons"
node scrape.js "$port" > metrics.txt
kill "$server"; wait "$server" 2>/dev/null || true; server=
expect() { grep -qE "$1" metrics.txt || { echo "scrape lacks /$1/:"; cat metrics.txt; exit 1; }; }
expect '^# TYPE user_sessions_total counter$'
expect '^# TYPE video_uploads_total counter$'
expect '^# TYPE analytics_generation_duration_seconds histogram$'
expect '^user_sessions_total\{([^}]*,)?plan="premium"(,[^}]*)?\} 1$'
expect '^video_uploads_total\{([^}]*,)?format="mp4"(,[^}]*)?\} 1$'
expect '^analytics_generation_duration_seconds_bucket\{([^}]*,)?le="30"(,[^}]*)?\} 0$'
expect '^analytics_generation_duration_seconds_bucket\{([^}]*,)?le="60"(,[^}]*)?\} 1$'
expect '^analytics_generation_duration_seconds_sum\{[^}]*\} 45\.2$'
expect '^analytics_generation_duration_seconds_count\{[^}]*\} 1$'
echo "seed snippet: tsc, node, served and scraped: $(grep -c '^# TYPE' metrics.txt) families"

# 2. The main package alone: the loader names the platform package it needs.
bare=$work/bare
mkdir -p "$bare"
cd "$bare"
echo '{"name":"dist-check-bare","version":"1.0.0","private":true}' > package.json
npm_install --offline "$main_tgz"
[ ! -e "node_modules/@footmetrics/$host" ] || { echo "@footmetrics/$host got installed without its tarball"; exit 1; }
if node -e "require('footmetrics')" > out.txt 2>&1; then
  echo "require('footmetrics') worked without @footmetrics/$host"; exit 1
fi
grep -q "no prebuilt binary for $host; install @footmetrics/$host" out.txt ||
  { echo "the error does not name @footmetrics/$host:"; cat out.txt; exit 1; }
echo "without @footmetrics/$host: $(grep -o "footmetrics: no prebuilt binary[^;]*; install @footmetrics/$host" out.txt)"
echo "test-dist-node: ok ($(basename "$main_tgz"), $(basename "$platform_tgz"))"
