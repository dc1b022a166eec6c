#!/usr/bin/env bash
# The console's browser tests under CTest (tests/CMakeLists.txt registers them).
#   run.sh install WORK         puppeteer-core from the committed lock into WORK (the build tree), skipped when WORK
#                               already holds this lock's packages; no browser is downloaded (Debian's chromium)
#   run.sh case WORK ARGS...    one case of console.test.js with those packages
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
what=$1 work=$2
shift 2
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/install-deps.sh --test" >&2; exit 1; }
done
case $what in
  install)
    mkdir -p "$work"
    if cmp -s "$here/package-lock.json" "$work/installed.lock" && [ -d "$work/node_modules/puppeteer-core" ]; then
      exit 0
    fi
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    cp "$here/package-lock.json" "$work/installed.lock"
    ;;
  case)
    NODE_PATH="$work/node_modules" exec node "$here/console.test.js" "$@"
    ;;
  *)
    echo "usage: run.sh install|case WORK [ARGS...]" >&2
    exit 2
    ;;
esac
