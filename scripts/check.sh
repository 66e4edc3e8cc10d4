#!/bin/sh
# check.sh: everything `make check` runs, ending with prove's summary.
#  1. unit tests (build/) and the same under ASan+UBSan (build-asan/)
#  2. fuzz targets replaying their corpora under ASan+UBSan, and a brief
#     libFuzzer run of each (tests/fuzz-brief.t, build-fuzz/)
#  3. every system test (tests/system/*/*.t) against build/
#  4. the system tests marked "# smoke" again against build-asan/
# The fuzz and sanitizer runs are wrapped as TAP tests by tests/sanitizers-[ab].t.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
export NQ_TOP="$top"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The long sanitizer quarters go first so that they overlap the rest.
tests="$top/tests/sanitizers-a.t $top/tests/sanitizers-b.t $top/tests/sanitizers-c.t $top/tests/sanitizers-d.t $top/tests/fuzz-brief.t"
for t in build/tests/unit/*.t; do [ -x "$t" ] && tests="$tests $top/$t"; done
for t in tests/system/*.t tests/system/*/*.t; do [ -f "$t" ] && tests="$tests $top/$t"; done
# shellcheck disable=SC2086
# Four at once on two cores: most tests wait on sockets, timers and fsync
# far more than they compute.
exec prove --exec '' --jobs 4 --timer $tests
