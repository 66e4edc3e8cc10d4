#!/bin/sh
# sanitizers.sh PART: the unit tests, the fuzz corpora and the system tests
# marked "# smoke", all run against the AddressSanitizer +
# UndefinedBehaviorSanitizer build. PART "a" runs the unit tests, the
# corpora and the first quarter of the smoke tests, "b", "c" and "d" the
# other quarters, so that prove runs them beside each other
# (tests/sanitizers-[abcd].t).
part=${1:-all}
top=${NQ_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
n=0
say() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
case "$part" in b|c|d) units=no ;; *) units=yes ;; esac
[ $units = no ] || for t in build-asan/tests/unit/*.t; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1); rc=$?
	[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/# /' >&2
	say $rc "asan unit $(basename "$t")"
done
[ $units = no ] || for f in build-asan/tests/fuzz/fuzz-*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=tests/fuzz/corpus/${name#fuzz-}
	[ -d "$corpus" ] || { say 1 "fuzz corpus missing for $name"; continue; }
	out=$("$f" "$corpus" 2>&1); rc=$?
	[ $rc = 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/# /' >&2
	say $rc "asan fuzz corpus $name"
done
k=0
for t in tests/system/*.t tests/system/*/*.t; do
	[ -f "$t" ] || continue
	grep -q '^# smoke' "$t" || continue
	k=$((k+1))
	case "$part" in
	a) [ $((k % 4)) = 1 ] || continue ;;
	b) [ $((k % 4)) = 2 ] || continue ;;
	c) [ $((k % 4)) = 3 ] || continue ;;
	d) [ $((k % 4)) = 0 ] || continue ;;
	esac
	out=$(NQ_BUILD="$top/build-asan" "$top/$t" 2>&1); rc=$?
	if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q '^not ok'; then rc=1; fi
	[ $rc = 0 ] || printf '%s\n' "$out" | grep -v '^ok' | tail -30 | sed 's/^/# /' >&2
	say $rc "asan smoke $t"
done
echo "1..$n"
