/*
 * asan_slow_unwind.c - linked into integration.test_tls only, in the
 * sanitized build (tests/CMakeLists.txt). lsan-lws-4.1.6.supp matches a
 * frame inside libwebsockets, which the fast unwinder never reaches through
 * OpenSSL (built without frame pointers): the test process records every
 * malloc with the slow unwinder. Compiled in rather than set in LSAN_OPTIONS
 * so that the qrlogind the test starts (it inherits the environment) keeps
 * the fast one: with it, its start outlasts the harness's 10 s on a busy
 * machine.
 */
const char *__asan_default_options(void);

const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
