#!/bin/sh
# Quarter "d" of the sanitizer runs: see tests/sanitizers.sh.
exec sh "$(dirname "$0")/sanitizers.sh" d
