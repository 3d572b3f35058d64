#!/usr/bin/env bash
# Installs everything the build and the tests need, once per machine. Each step checks first,
# so a second run takes a second or two.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# The wasm-bindgen CLI must equal the wasm-bindgen crate version exactly.
wasm_bindgen_version=0.2.130
wasm_pack_version=0.15.1

step() { printf 'setup: %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is not installed. Install Rust with rustup, then run this again." >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]]; then
  # Without --locked: the CLI's lockfile names a webpki-roots release that some registry
  # mirrors lack, and the unlocked resolution builds fine.
  step "installing wasm-bindgen-cli $wasm_bindgen_version (about 2 minutes)"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi

if [[ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $wasm_pack_version" ]]; then
  step "installing wasm-pack $wasm_pack_version (about 2 minutes)"
  cargo install wasm-pack --version "$wasm_pack_version" --locked --force
fi

# npm ci only when package-lock.json changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]
then
  step "installing npm packages"
  npm ci --no-audit --no-fund
fi

# Browser tests drive Debian's Chromium; browser downloads (npx playwright install) fail here.
if ! command -v chromium >/dev/null 2>&1; then
  step "installing Debian's chromium for the browser tests (about a minute)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

missing=()
for tool in unshare nsenter mount chroot setsid; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  step "installing util-linux and coreutils (missing: ${missing[*]})"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux mount coreutils
fi
