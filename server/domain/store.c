/*
 * store.c - the thin, implementation-independent face of the challenge store:
 * each wrapper forwards to the store's ops table. Implementations live in
 * store_<kind>.c (store_mem.c today).
 */
#include "domain/store.h"

void qrl_store_put(qrl_store *s, const qrl_challenge *c, qrl_store_cb cb, void *ud) {
  s->ops->put(s, c, cb, ud);
}

void qrl_store_get(qrl_store *s, const char *id, qrl_store_cb cb, void *ud) {
  s->ops->get(s, id, cb, ud);
}

void qrl_store_apply(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                     qrl_store_cb cb, void *ud) {
  s->ops->apply(s, id, fn, arg, cb, ud);
}

void qrl_store_tell(qrl_store *s, const qrl_challenge *c, const qrl_store_note *n) {
  s->ops->tell(s, c, n);
}

void qrl_store_on_note(qrl_store *s, qrl_store_note_sink sink, void *ud) {
  s->note_sink = sink;
  s->note_ud = ud;
}

size_t qrl_store_sweep(qrl_store *s, int64_t now_ms) {
  return s->ops->sweep(s, now_ms);
}

size_t qrl_store_live(qrl_store *s) { return s->ops->live(s); }

void qrl_store_free(qrl_store *s) {
  if (s) s->ops->destroy(s);
}
