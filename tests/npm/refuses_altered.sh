#!/usr/bin/env bash
# vendor.js refuses tarballs that are not the ones the lock names, before it unpacks anything: one altered by a
# byte (its sha512 differs from the lock's integrity) and one missing. Each time it exits 1 naming the tarball, and
# the destination gets no node_modules.
#   refuses_altered.sh NODE WORK
set -euo pipefail
node=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
lock="$here/../openai-client/package-lock.json"
rm -rf "$work" && mkdir -p "$work/npm"
cp "$here/vendor.js" "$work/npm/" && cp -r "$here/tarballs" "$work/npm/"
check() { # what: vendor.js must exit 1 with stderr matching $2 and install nothing
  set +e; "$node" "$work/npm/vendor.js" install "$lock" "$work/dest" 2>"$work/err"; rc=$?; set -e
  [ $rc -eq 1 ] || { echo "FAIL ($1): exit $rc, want 1"; cat "$work/err"; exit 1; }
  grep -q "$2" "$work/err" || { echo "FAIL ($1): stderr does not say $2:"; cat "$work/err"; exit 1; }
  [ ! -e "$work/dest/node_modules" ] || { echo "FAIL ($1): node_modules was created"; exit 1; }
  echo "ok ($1): $(head -n 1 "$work/err")"
}
# the untouched tarballs install (so the refusals below are about the change alone), then start over
"$node" "$work/npm/vendor.js" install "$lock" "$work/dest" >/dev/null
[ -f "$work/dest/node_modules/openai/package.json" ] || { echo "FAIL: the untouched tarballs did not install"; exit 1; }
rm -rf "$work/dest"
printf 'x' >> "$work/npm/tarballs/openai-4.104.0.tgz"
check "altered" "openai-4.104.0.tgz: sha512 is .*, the lock says"
rm "$work/npm/tarballs/openai-4.104.0.tgz"
check "missing" "openai-4.104.0.tgz"
rm -rf "$work"
