#!/usr/bin/env bash
# Installs what cutover needs to build and run, and with --test what its tests and benchmarks use too, from Debian
# bookworm's packages only; does nothing when all is there already. Run as root (or with sudo available).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ca-certificates
  # Boost.Beast/Asio 1.74 serve the HTTP API (headers only); named here so a fresh machine has them even if
  # libcpprest-dev's dependencies change. Not libboost1.81-dev: it conflicts with libcpprest-dev.
  libboost1.74-dev libboost-system1.74-dev
  libcaf-dev libcpprest-dev libsqlitecpp-dev libsqlite3-dev libyaml-cpp-dev libssl-dev zlib1g-dev catch2
  sqlite3
  # jemalloc: the engine's allocator (threads free what others allocated; glibc's arenas make them wait)
  libjemalloc-dev
)
# test and benchmark tools: the load generator, /usr/bin/time, xmllint (simulate's SVG plots are parsed), promtool
# from prometheus (lints /metrics, checks and tests deploy/alerts.yml; the engine never needs it to run), chromium
# and firefox-esr (the operator console's browser tests drive them with puppeteer-core; the engine serves the
# console without them); Node too (install_node, below)
[ "${1:-}" = "--test" ] && packages+=(wrk time libxml2-utils prometheus chromium firefox-esr)

as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  echo "installing: $*" >&2
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Node for the tests' npm projects (tests/openai-client: the official openai client; tests/console: the console's
# browser test). Their packages come from tarballs committed in tests/npm, so npm itself is not needed. Debian's
# nodejs only where `node` is missing: a machine with another Node build (e.g. NodeSource's) keeps it. The engine
# never runs Node.
install_node() {
  command -v node >/dev/null 2>&1 || apt_install nodejs
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi
if [ "${1:-}" = "--test" ]; then
  install_node
fi
