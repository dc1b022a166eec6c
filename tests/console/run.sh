#!/usr/bin/env bash
# The console's browser tests under CTest (tests/CMakeLists.txt registers them).
#   run.sh install WORK         puppeteer-core as the committed lock pins it, from the tarballs committed in tests/npm,
#                               into WORK (the build tree); skipped when WORK already holds this lock's packages; no
#                               browser is downloaded (Debian's chromium)
#   run.sh case WORK ARGS...    one case of console.test.js with those packages
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
what=$1 work=$2
shift 2
command -v node >/dev/null || { echo "node not found: run scripts/install-deps.sh --test" >&2; exit 1; }
case $what in
  install)
    exec node "$here/../npm/vendor.js" install "$here/package-lock.json" "$work"
    ;;
  case)
    NODE_PATH="$work/node_modules" exec node "$here/console.test.js" "$@"
    ;;
  *)
    echo "usage: run.sh install|case WORK [ARGS...]" >&2
    exit 2
    ;;
esac
