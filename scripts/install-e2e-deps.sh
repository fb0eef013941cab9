#!/usr/bin/env bash
# Installs what `npm run test:e2e` needs from Debian: Chromium (driven by playwright-core; no
# browser is ever downloaded) and PyJWT for the Python verifier. Idempotent and quiet: does
# nothing when both are present. Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null || missing+=(python3-jwt python3-cryptography)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-e2e-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
