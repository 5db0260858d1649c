#!/usr/bin/env bash
# Cheap checks run by `make test` and `make lint`:
#  - include layering against the table in docs/architecture.md
#  - calls we avoid (strcpy, sprintf, strtok, gets, alloca)
#  - every public header compiles on its own
#  - clang-format conformance (reported, fatal only with SW_LINT_FORMAT=1)
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0

declare -A may=(
  [core]="core"
  [sip]="core sip"
  [transport]="core sip transport"
  [txn]="core sip transport txn"
  [dialog]="core sip transport txn dialog"
  [media]="core media"
  [store]="core store"
  [sec]="core sip store sec"
  [app]="core sip transport txn dialog media sec store app"
)
for layer in "${!may[@]}"; do
  [ -d "src/$layer" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include *"([^"]+)".*/\1/' <<<"$line")
    target=${inc%%/*}
    case " ${may[$layer]} " in
      *" $target "*) ;;
      *) echo "layering: $file includes $inc ($layer may not use $target)"; rc=1 ;;
    esac
  done < <(grep -rnE '^#include *"[a-z]+/' "src/$layer" --include='*.[ch]' | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done

if grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|strtok|gets|alloca)\s*\(' src --include='*.[ch]'; then
  echo "lint: avoided call found above"; rc=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in $(find src -name '*.h' ! -name '*_int.h'); do
  printf '#include "%s"\n' "${h#src/}" > "$tmp/h.c"
  if ! cc -std=c11 -D_GNU_SOURCE -fsyntax-only -Wall -Isrc $(pkg-config --cflags libfyaml 2>/dev/null) "$tmp/h.c" 2>"$tmp/err"; then
    echo "lint: $h does not compile on its own:"; head -5 "$tmp/err"; rc=1
  fi
done

if command -v clang-format >/dev/null; then
  unformatted=$(for f in $(git ls-files 'src/*.[ch]' 'tests/*.[ch]'); do
    [ -f "$f" ] && ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1 && echo "$f"; done)
  if [ -n "$unformatted" ]; then
    echo "format: not clang-formatted (run make format):"; echo "$unformatted" | sed 's/^/  /'
    [ "${SW_LINT_FORMAT:-0}" = 1 ] && rc=1
  fi
fi
exit $rc
