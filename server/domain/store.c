/*
 * store.c - the thin, implementation-independent face of the challenge store:
 * each wrapper forwards to the store's ops table. Implementations live in
 * store_<kind>.c (store_mem.c today).
 */
#include "domain/store.h"

qrl_err qrl_store_put(qrl_store *s, const qrl_challenge *c) {
  return s->ops->put(s, c);
}

qrl_err qrl_store_get(qrl_store *s, const char *id, qrl_challenge *out) {
  return s->ops->get(s, id, out);
}

qrl_err qrl_store_apply(qrl_store *s, const char *id, qrl_store_fn fn,
                        void *arg, qrl_challenge *out) {
  return s->ops->apply(s, id, fn, arg, out);
}

size_t qrl_store_sweep(qrl_store *s, int64_t now_ms) {
  return s->ops->sweep(s, now_ms);
}

size_t qrl_store_live(qrl_store *s) { return s->ops->live(s); }

size_t qrl_store_live_from(qrl_store *s, const char *ip) {
  return s->ops->live_from(s, ip);
}

void qrl_store_free(qrl_store *s) {
  if (s) s->ops->destroy(s);
}
