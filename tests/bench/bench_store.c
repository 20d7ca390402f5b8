/*
 * bench_store.c - what the in-memory challenge store costs per waiting login
 * page (issue 14: user memory per page), and per operation.
 *
 *   ./build/tests/qrl_bench_store [pages]        (default 100,000)
 *
 * Memory: the heap in use (mallinfo2().uordblks: glibc's allocated bytes,
 * chunk headers and rounding included) after putting `pages` PENDING
 * challenges into a fresh store, minus before, per page - the store's own
 * memory: entries, hash buckets, the per-network counts, shared strings.
 * The challenges are minted as the server mints them (ws_browser.c): one
 * portal name (the server's), an origin of ~30 characters among a few, a
 * user agent of ~110 characters among a dozen current browsers, and a
 * distinct IPv4 address per page (the worst case for per-network counts).
 * A second run gives every page its own user agent (nothing to share).
 *
 * Time: CPU time of this thread per operation, best of 3 rounds, on the
 * full store: put (a fresh challenge), get (a random live id), apply with a
 * transition that changes nothing (the store's own overhead on a scan or a
 * confirm), and scan + confirm through apply. Not a test: asserts nothing.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/challenge.h"
#include "domain/store.h"
#include "helpers/crypto.h"

static const qrl_instant T0 = {1700000000, 1000000};

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const uas[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 CocCoc/131",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
};
#define NUAS (sizeof(uas) / sizeof(uas[0]))

static const char *const origins[] = {
    "https://dichvucong.gov.vn", "https://dichvucong.hanoi.gov.vn",
    "https://thuedientu.gdt.gov.vn", "https://baohiemxahoi.gov.vn"};

#define PORTAL "Cổng Dịch vụ công Quốc gia - Bộ Công an" /* ~40 bytes */

/* Mints page i's challenge as the server does; distinct_ua: its own agent. */
static int mint(long i, int distinct_ua, int64_t ttl, qrl_challenge *c) {
  char ip[48], ua[160];
  snprintf(ip, sizeof(ip), "10.%ld.%ld.%ld", (i >> 16) & 255, (i >> 8) & 255, i & 255);
  if (distinct_ua)
    snprintf(ua, sizeof(ua), "%s/%ld", uas[i % NUAS], i);
  else
    snprintf(ua, sizeof(ua), "%s", uas[i % NUAS]);
  return qrl_challenge_init(c, PORTAL, origins[i % 4], ip, ua, (uint64_t)i, T0, ttl, 2) !=
         QRL_OK;
}

static size_t heap_used(void) { return mallinfo2().uordblks; }

static qrl_err scan_fn(qrl_challenge *c, void *arg) {
  qrl_qr_payload qp;
  (void)arg;
  if (qrl_challenge_frame(c, T0.mono_ms, &qp)) return QRL_CRYPTO;
  return qrl_challenge_scan(c, &qp, "001099012345", 1, 2, T0.mono_ms);
}

static qrl_err confirm_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  return qrl_challenge_decide(c, "001099012345", 1, QRL_DECISION_CONFIRM, c->match, T0.mono_ms);
}

static qrl_err nothing_fn(qrl_challenge *c, void *arg) {
  (void)c;
  (void)arg;
  return QRL_OK;
}

/* Fills a store with n pages and reports its bytes per page. */
static int bench_memory(long n, int distinct_ua) {
  qrl_store *s;
  qrl_challenge c;
  size_t before, after;
  long i;

  before = heap_used();
  s = qrl_store_mem_new((size_t)n, 0, 300, NULL, NULL);
  if (!s) return 1;
  for (i = 0; i < n; i++)
    if (mint(i, distinct_ua, 120, &c) || qrl_store_mem_put(s, &c)) return 1;
  after = heap_used();
  printf("%-40s %8.1f bytes/page (%ld pages, %zu bytes)\n",
         distinct_ua ? "store memory, every user agent distinct" : "store memory, pending page",
         (double)(after - before) / (double)n, n, after - before);
  qrl_cleanse(&c, sizeof(c));
  qrl_store_free(s);
  return 0;
}

/* Per-operation CPU times on a store holding n pages. */
static int bench_ops(long n) {
  enum { ROUNDS = 3, OPS = 100000 };
  char(*ids)[QRL_TOKEN_B64LEN + 1] = malloc((size_t)n * sizeof(*ids));
  qrl_challenge c, out;
  double best_put = 1e9, best_get = 1e9, best_nop = 1e9, best_scan = 1e9, t;
  long base = n;
  int rc = 1;
  qrl_store *s = qrl_store_mem_new((size_t)(n * 2), 0, 300, NULL, NULL);

  if (!ids || !s) goto out;
  for (long i = 0; i < n; i++) {
    if (mint(i, 0, 120, &c) || qrl_store_mem_put(s, &c)) goto out;
    memcpy(ids[i], c.id, sizeof(ids[i]));
  }
  srand(7);
  for (int r = 0; r < ROUNDS; r++) {
    /* put: mint outside the clock */
    double sum = 0;
    for (long k = 0; k < OPS / 10; k++, base++) {
      if (mint(base, 0, 120, &c)) goto out;
      t = cpu_s();
      if (qrl_store_mem_put(s, &c)) goto out;
      sum += cpu_s() - t;
    }
    if (sum / (OPS / 10) < best_put) best_put = sum / (OPS / 10);
    t = cpu_s();
    for (long k = 0; k < OPS; k++)
      if (qrl_store_mem_get(s, ids[(size_t)rand() % (size_t)n], &out)) goto out;
    t = (cpu_s() - t) / OPS;
    if (t < best_get) best_get = t;
    t = cpu_s();
    for (long k = 0; k < OPS; k++)
      if (qrl_store_mem_apply(s, ids[(size_t)rand() % (size_t)n], nothing_fn, NULL, &out)) goto out;
    t = (cpu_s() - t) / OPS;
    if (t < best_nop) best_nop = t;
    t = cpu_s();
    for (long k = r * (n / ROUNDS); k < (r + 1) * (n / ROUNDS) && k < r * (n / ROUNDS) + 20000;
         k++)
      if (qrl_store_mem_apply(s, ids[k], scan_fn, NULL, &out) ||
          qrl_store_mem_apply(s, ids[k], confirm_fn, NULL, &out))
        goto out;
    t = (cpu_s() - t) / 20000;
    if (t < best_scan) best_scan = t;
  }
  printf("%-40s %8.3f us/op\n", "store put", best_put * 1e6);
  printf("%-40s %8.3f us/op\n", "store get", best_get * 1e6);
  printf("%-40s %8.3f us/op\n", "store apply, no change", best_nop * 1e6);
  printf("%-40s %8.3f us/op\n", "store apply scan + apply confirm", best_scan * 1e6);
  rc = 0;
out:
  qrl_cleanse(&c, sizeof(c));
  qrl_cleanse(&out, sizeof(out));
  qrl_store_free(s);
  free(ids);
  return rc;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
  qrl_challenge warm;
  if (n < 1000) n = 1000;
  /* The first mint initialises OpenSSL's generator: not the store's memory. */
  if (mint(0, 0, 120, &warm)) return 1;
  qrl_cleanse(&warm, sizeof(warm));
  printf("qrlogin store bench: sizeof(qrl_challenge) %zu bytes\n", sizeof(qrl_challenge));
  if (bench_memory(n, 0) || bench_memory(n, 1) || bench_ops(n)) {
    printf("store bench FAILED\n");
    return 1;
  }
  return 0;
}
