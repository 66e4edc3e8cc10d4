/* Linked into every program of the sanitizer build (make asan): default
 * sanitizer options that also hold for the set-uid qmail-queue, which
 * ignores ASAN_OPTIONS from the environment. Leak checking is off because
 * short-lived programs free nothing on exit by design. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0:abort_on_error=1"; }
