#!/bin/sh
# A brief libFuzzer run of every fuzz target (built by `make fuzz` into
# build-fuzz/fuzz/ with clang, ASan and UBSan), each for NQ_FUZZ_SECONDS
# (default 3) or NQ_FUZZ_RUNS inputs (default 30000), whichever comes
# first, starting from a copy of its corpus in tests/fuzz/corpus/.
# Longer runs by hand: build-fuzz/fuzz/fuzz-NAME -max_total_time=600 DIR
top=${NQ_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
secs=${NQ_FUZZ_SECONDS:-3}
# A fixed seed and run count make a failure repeatable; the time cap
# bounds slow targets. NQ_FUZZ_RUNS=0 means "until the time cap".
runs=${NQ_FUZZ_RUNS:-30000}
[ "$runs" = 0 ] && runs=-1
n=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! ls build-fuzz/fuzz/fuzz-* >/dev/null 2>&1; then
	echo "1..0 # SKIP no libFuzzer build (make fuzz needs clang and libclang-rt)"
	exit 0
fi
for f in build-fuzz/fuzz/fuzz-*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	n=$((n+1))
	mkdir -p "$tmp/$name"
	cp -r "tests/fuzz/corpus/${name#fuzz-}/." "$tmp/$name/" 2>/dev/null
	out=$(cd "$tmp" && ASAN_OPTIONS=detect_leaks=0 "$top/$f" -seed=1 -runs="$runs" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=1024 -print_final_stats=0 "$tmp/$name" 2>&1); rc=$?
	if [ $rc = 0 ]; then echo "ok $n - libFuzzer $name for ${secs}s"
	else
		echo "not ok $n - libFuzzer $name for ${secs}s"
		printf '%s\n' "$out" | tail -25 | sed 's/^/# /' >&2
	fi
done
echo "1..$n"
