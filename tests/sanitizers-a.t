#!/bin/sh
# Quarter "a" of the sanitizer runs: see tests/sanitizers.sh.
exec sh "$(dirname "$0")/sanitizers.sh" a
