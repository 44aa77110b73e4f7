#!/usr/bin/env bash
# Installs, from Debian packages, what claud needs to build and test — and nothing when all is there.
# Idempotent: it asks dpkg which packages are missing and runs apt-get only for those.
set -euo pipefail

packages=(
  g++ cmake make            # toolchain
  libcaf-dev                # actors and messages between nodes (CAF 0.17.6)
  libprotobuf-dev protobuf-compiler  # durable and external formats, JSON mapping
  libssl-dev                # mutual TLS between nodes, and `claud tls` certificates
  libasio-dev               # UDP sockets CAF does not own (discovery beacons)
  libfmt-dev                # formatting of logs and CLI output
  libcli11-dev              # command-line parsing
  catch2                    # tests (v2)
  libedit-dev pkg-config    # line editing and history in `claud repl` (BSD-licensed)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "installing missing packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
