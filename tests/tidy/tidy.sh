#!/usr/bin/env bash
# The project's conventions, enforced by a test rather than by review (DESIGN.md section 6):
# - src/raft, src/state, src/sched and src/slave stay pure: no CAF, Asio, threads, files, clocks
#   or unseeded randomness;
# - each folder of src/ includes only the folders its rule names (may_include below);
# - no line over 100 columns in our C++ sources;
# - no FIXME left behind;
# - every .cpp under src/ is listed in a CMakeLists.txt;
# - clang-format would change nothing (when clang-format is installed).
set -uo pipefail
root=${1:?usage: tidy.sh SOURCE_DIR}
cd "$root" || exit 2
failures=0
fail() {
  echo "tidy: $*" >&2
  failures=$((failures + 1))
}

impure=$(grep -rnE '#include <(caf/|asio|thread>|fstream>|filesystem>)|steady_clock::now|system_clock::now|random_device|[^_a-z]rand\(|[^_a-z]time\(' \
  src/raft src/state src/sched src/slave 2>/dev/null)
[ -n "$impure" ] && fail "pure folders must not use CAF, Asio, threads, files, clocks or unseeded randomness:"$'\n'"$impure"

# Which folders of src/ may include which (DESIGN.md section 3): the pure cores only themselves and
# the cores below them, the outside world (storage, proc, net) none of the cores' hosts, the
# actors the wire protocol but never the client library. claud/protocol.hpp counts as protocol,
# claud/client.hpp and claud/cluster.hpp as client; generated *.pb.h headers are everyone's.
declare -A may_include=(
  [raft]="raft" [state]="state" [sched]="sched state" [slave]="slave"
  [log]="log" [os]="os" [net]="net log os" [proc]="proc os log" [storage]="storage os"
  [replica]="replica raft state storage" [protocol]="protocol net"
  [client]="client protocol net state"
  [actors]="actors protocol log net proc replica sched slave state storage"
  [cli]="cli client protocol log net roles state"
  [roles]="roles actors protocol log net proc state storage"
)
for dir in src/*/; do
  folder=$(basename "$dir")
  [ "$folder" = proto ] && continue
  allowed=${may_include[$folder]-}
  [ -n "$allowed" ] || { fail "src/$folder has no include rule in tidy.sh"; continue; }
  while IFS= read -r line; do
    file=${line%%:*}
    target=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    case $target in
      *.pb.h) continue ;;
      claud/protocol.hpp) used=protocol ;;
      claud/client.hpp | claud/cluster.hpp) used=client ;;
      */*) used=${target%%/*} ;;
      *) continue ;;
    esac
    [[ " $allowed " == *" $used "* ]] || fail "$file includes $target: src/$folder may include only $allowed"
  done < <(grep -rnE '#include "[^"]+"' "$dir" --include='*.[ch]pp')
done

sources=$(find src include tests bench examples -name '*.[ch]pp' 2>/dev/null | sort)
# Columns are characters: UTF-8 continuation bytes are dropped before counting.
long=$(for f in $sources; do
  LC_ALL=C sed 's/[\x80-\xbf]//g' "$f" |
    awk -v f="$f" 'length($0) > 100 {print f ":" NR ": " length($0) " columns"}'
done)
[ -n "$long" ] && fail "lines over 100 columns:"$'\n'"$long"

fixme=$(grep -rn 'FIXME' $sources 2>/dev/null)
[ -n "$fixme" ] && fail "FIXME left in:"$'\n'"$fixme"

for f in $(find src -name '*.cpp' | sort); do
  dir=$(dirname "$f")
  name=$(basename "$f")
  grep -qw "$name" "$dir/CMakeLists.txt" 2>/dev/null || [ "$f" = src/main.cpp ] ||
    fail "$f is not listed in $dir/CMakeLists.txt"
done

if command -v clang-format >/dev/null; then
  unformatted=$(for f in $sources; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
  [ -n "$unformatted" ] && fail "clang-format would change (run clang-format -i on them):"$'\n'"$unformatted"
else
  echo "tidy: clang-format is not installed; formatting not checked"
fi

[ "$failures" -eq 0 ] && echo "tidy: clean"
exit $((failures > 0))
