# Shared by the .dev scripts: installs what builds and tests need, reusing whatever is
# already installed at the pinned version. Source it; do not run it.

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs a newer rustc than this toolchain
CARGO_DENY_VERSION=0.20.2
CARGO_NEXTEST_VERSION=0.9.143 # the machine image's; newer ones may need a newer rustc
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')

export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# A cargo command (`test`, `nextest run`) under the environment cargo-leptos 0.3.10 compiles
# the server with (debug mode), so the tests reuse that build instead of compiling
# everything a second time (RUSTFLAGS and LEPTOS_OUTPUT_NAME are part of every crate's
# fingerprint). Only for this one command: cargo-leptos itself must not inherit them.
cargo_as_leptos_builds() {
  env RUSTFLAGS="--cfg erase_components" \
    LEPTOS_OUTPUT_NAME=social-signin LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend \
    LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=false LEPTOS_HASH_FILES=true \
    LEPTOS_HASH_FILE_NAME=hash.txt \
    cargo "$@"
}

cargo_test_as_leptos_builds() {
  cargo_as_leptos_builds test "$@"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_build_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -qx "cargo-leptos $CARGO_LEPTOS_VERSION"; then
    echo "== installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~15 minutes once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
    echo "== installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # No --locked: its lock file names a webpki-roots release the registry no longer has.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

# The test runner: one process per test, so tests run in parallel without sharing a
# process (see .config/nextest.toml). The machine image ships it; install it otherwise.
ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    echo "== installing cargo-nextest $CARGO_NEXTEST_VERSION"
    cargo install cargo-nextest --locked --version "$CARGO_NEXTEST_VERSION"
  fi
}

ensure_cargo_deny() {
  if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
    echo "== installing cargo-deny $CARGO_DENY_VERSION (~7 minutes once)"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
  fi
}

# Playwright, and binaryen's wasm-opt for release builds (Debian's binaryen breaks the wasm).
ensure_node_packages() {
  if [ ! -x end2end/node_modules/.bin/playwright ] || [ ! -x end2end/node_modules/.bin/wasm-opt ] \
     || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# The benchmark's peer app (Express + Passport, issue 22), from its pinned lock file.
ensure_peer_packages() {
  local peer=.dev/peers/express-passport
  if [ ! -d "$peer/node_modules/better-sqlite3" ] \
     || [ "$peer/package-lock.json" -nt "$peer/node_modules/.package-lock.json" ]; then
    (cd "$peer" && npm ci --no-audit --no-fund)
  fi
}

# Debian's Chromium; browsers are never downloaded by a test tool.
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
}

# Debian's sqlite3 CLI: Playwright tests read the e2e server's session rows with it.
ensure_sqlite3() {
  if ! command -v sqlite3 >/dev/null 2>&1; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3
  fi
}

# Debian's HAProxy, the reverse proxy of the several-instances test and benchmark.
ensure_haproxy() {
  if ! command -v haproxy >/dev/null 2>&1; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy
  fi
}

# The built bundle file with extension $1 (names carry a content hash).
bundle_file() {
  ls "$ROOT"/target/site/pkg/social-signin*."$1" | head -1
}

# The local PostgreSQL server (127.0.0.1:5432, trust auth) that the PostgreSQL test run and
# the benchmark use. These machines start it before a session; start it if it is down.
ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "== starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
    echo "PostgreSQL did not start" >&2; return 1
  fi
}

psql_admin() {
  psql -h 127.0.0.1 -U postgres -d test -v ON_ERROR_STOP=1 "$@"
}
