/*
 * store_redis.c - the challenge store on Redis (store_redis.h).
 *
 * Each call is an `op` that lives until it has answered: a read (HMGET),
 * then for apply the transition on a copy and a compare-and-set script,
 * read again if another writer won. The node keeps a small table of the
 * challenges it owns (their pages are its sockets): their last known state
 * and expiry, so that a re-read tells what changed, and the sweep expires
 * them on time.
 */
#define _GNU_SOURCE
#include "glue/store_redis.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers/crypto.h"
#include "helpers/log.h"
#include "helpers/netaddr.h"

#define CAS_TRIES 8
#define OWNED_BUCKETS 4096
#define HEARTBEAT_MS 1000
#define HEARTBEAT_TTL_MS 3000

/* ---- the scripts ---------------------------------------------------------- */

/* KEYS: challenge, live set, network set. ARGV: record, expiry (wall ms),
 * id, max live, max per network, linger ms, owner. */
static const char PUT_LUA[] =
    "local t=redis.call('TIME') local now=t[1]*1000+math.floor(t[2]/1000)\n"
    "redis.call('ZREMRANGEBYSCORE',KEYS[2],'-inf',now)\n"
    "redis.call('ZREMRANGEBYSCORE',KEYS[3],'-inf',now)\n"
    "if tonumber(ARGV[4])>0 and redis.call('ZCARD',KEYS[2])>=tonumber(ARGV[4]) then return 'busy' end\n"
    "if tonumber(ARGV[5])>0 and redis.call('ZCARD',KEYS[3])>=tonumber(ARGV[5]) then return 'net' end\n"
    "if redis.call('EXISTS',KEYS[1])==1 then return 'exists' end\n"
    "redis.call('HSET',KEYS[1],'v',1,'d',ARGV[1],'o',ARGV[7])\n"
    "redis.call('PEXPIREAT',KEYS[1],tonumber(ARGV[2])+tonumber(ARGV[6]))\n"
    "redis.call('ZADD',KEYS[2],ARGV[2],ARGV[3])\n"
    "redis.call('ZADD',KEYS[3],ARGV[2],ARGV[3])\n"
    "if redis.call('PTTL',KEYS[3])<tonumber(ARGV[2])-now then redis.call('PEXPIREAT',KEYS[3],ARGV[2]) end\n"
    "return 'ok'\n";

/* KEYS: challenge, live set, network set, the owner's heartbeat. ARGV:
 * version read, record, terminal (1/0), expiry (wall ms), linger ms, id,
 * owner's heartbeat needed (1/0). */
static const char CAS_LUA[] =
    "if redis.call('HGET',KEYS[1],'v')~=ARGV[1] then return 'retry' end\n"
    "if ARGV[7]=='1' and redis.call('EXISTS',KEYS[4])==0 then return 'gone' end\n"
    "redis.call('HSET',KEYS[1],'v',tonumber(ARGV[1])+1,'d',ARGV[2])\n"
    "if ARGV[3]=='1' then\n"
    "  redis.call('ZREM',KEYS[2],ARGV[6]) redis.call('ZREM',KEYS[3],ARGV[6])\n"
    "  redis.call('PEXPIRE',KEYS[1],ARGV[5])\n"
    "else\n"
    "  redis.call('ZADD',KEYS[2],ARGV[4],ARGV[6]) redis.call('ZADD',KEYS[3],ARGV[4],ARGV[6])\n"
    "  redis.call('PEXPIREAT',KEYS[1],tonumber(ARGV[4])+tonumber(ARGV[5]))\n"
    "  if redis.call('PTTL',KEYS[3])>=0 and redis.call('PTTL',KEYS[3])<tonumber(ARGV[4])-"
    "tonumber(redis.call('TIME')[1])*1000 then redis.call('PEXPIREAT',KEYS[3],ARGV[4]) end\n"
    "end\n"
    "return 'ok'\n";

/* KEYS: challenge. ARGV: kind ('c': completed, else held), code, error
 * code, id. The owner hears the id on its channel. */
static const char TELL_LUA[] =
    "local o=redis.call('HGET',KEYS[1],'o') if not o then return 0 end\n"
    "if ARGV[1]=='c' then redis.call('HSET',KEYS[1],'c',ARGV[2],'e',ARGV[3]) end\n"
    "redis.call('PUBLISH','qrl:ev:'..o,ARGV[4])\n"
    "return 1\n";

/* ---- the store ------------------------------------------------------------- */

/* A challenge this node owns: what it last told its page. */
typedef struct owned {
  struct owned *next;
  char id[QRL_TOKEN_B64LEN + 1];
  qrl_chal_state state;
  int64_t expires_ms;  /* monotonic */
  int64_t terminal_ms; /* monotonic, when seen terminal; 0 while live */
  int expiring;        /* an expiry is being written */
  int told_done;       /* its completion (or failure) was given to the page */
  void *store;         /* the rs_store it belongs to */
} owned;

typedef struct rs_store {
  qrl_store base;
  uv_loop_t *loop;
  qrl_redis *cmd, *sub;
  const qrl_clock *clock;
  qrl_log *log;
  char node[33];
  size_t max_live, max_per_net;
  int64_t linger_ms;
  owned *table[OWNED_BUCKETS];
  size_t nowned, nlive;
  uv_timer_t beat;
  int beat_ok;    /* the last heartbeat was written */
  int subscribed; /* the events subscription is confirmed (since it came up) */
  int ready;      /* both, with both connections up: said in the log */
  int64_t off;    /* wall-clock ms - monotonic ms (wall_offset) */
  qrl_store_redis_stats st;
} rs_store;

static const qrl_store_ops rs_ops;

/* ---- time ------------------------------------------------------------------ */

/* Wall-clock ms minus monotonic ms: added to a monotonic time gives the
 * wall-clock one Redis keeps (other nodes' monotonic clocks differ). Taken
 * once, when the store is made, so that a time read back is the time
 * written (a stepped wall clock later does not move this node's
 * deadlines; NTP keeps the nodes within a few ms of each other). */
static int64_t wall_offset(const rs_store *s) { return s->off; }

static int64_t offset_now(const qrl_clock *clock) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - qrl_clock_mono_ms(clock);
}

/* ---- the record ------------------------------------------------------------ */

static void add_str(cJSON *o, const char *k, const char *v) { cJSON_AddStringToObject(o, k, v); }
static void add_num(cJSON *o, const char *k, int64_t v) { cJSON_AddNumberToObject(o, k, (double)v); }

/* The record of c (wall-clock times); NULL without memory. Free with
 * wipe_free_str (it holds the secrets). */
static char *encode(const qrl_challenge *c, int64_t off) {
  cJSON *o = cJSON_CreateObject(), *a;
  char *out = NULL;
  if (!o) return NULL;
  add_str(o, "id", c->id);
  add_str(o, "secret", c->secret);
  add_str(o, "binding", c->binding);
  add_str(o, "flow", c->flow);
  add_str(o, "pn", c->portal_name);
  add_str(o, "po", c->portal_origin);
  add_str(o, "ip", c->browser_ip);
  add_str(o, "ua", c->browser_ua);
  if (c->oidc_req[0]) add_str(o, "oq", c->oidc_req);
  add_num(o, "cat", c->created_at);
  add_num(o, "cms", c->created_ms + off);
  add_num(o, "ems", c->expires_ms + off);
  add_num(o, "fs", c->frame_secs);
  add_num(o, "bc", (int64_t)c->browser_conn);
  add_num(o, "st", c->state);
  add_num(o, "why", c->why);
  add_num(o, "k", c->kiosk);
  if (c->citizen_id[0]) {
    add_str(o, "cid", c->citizen_id);
    add_num(o, "dev", c->device_id);
    add_num(o, "pc", (int64_t)c->phone_conn);
    add_num(o, "sms", c->scanned_ms ? c->scanned_ms + off : 0);
    add_str(o, "sid", c->scanned.id);
    add_num(o, "sf", c->scanned.frame);
    add_str(o, "scode", c->scanned.code);
    add_num(o, "m", c->match);
    add_num(o, "far", c->far);
    if ((a = cJSON_AddArrayToObject(o, "ch")))
      for (int i = 0; i < QRL_MATCH_CHOICES; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(c->choices[i]));
  }
  out = cJSON_PrintUnformatted(o);
  {
    /* cJSON's own strings held the secrets too. */
    cJSON *sec = cJSON_GetObjectItemCaseSensitive(o, "secret");
    cJSON *bin = cJSON_GetObjectItemCaseSensitive(o, "binding");
    if (sec && sec->valuestring) qrl_cleanse(sec->valuestring, strlen(sec->valuestring));
    if (bin && bin->valuestring) qrl_cleanse(bin->valuestring, strlen(bin->valuestring));
  }
  cJSON_Delete(o);
  return out;
}

static void wipe_free_str(char *s) {
  if (s) qrl_cleanse(s, strlen(s));
  free(s);
}

static int get_str(const cJSON *o, const char *k, char *out, size_t n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsString(v) || strlen(v->valuestring) >= n) return -1;
  memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

static int get_num(const cJSON *o, const char *k, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsNumber(v) || v->valuedouble < -9007199254740992.0 ||
      v->valuedouble > 9007199254740992.0)
    return -1;
  *out = (int64_t)v->valuedouble;
  return 0;
}

/* Reads record (len bytes) into *c (monotonic times). 0, or -1 if it is
 * not a challenge's record (c then wiped). */
static int decode(const char *rec, size_t len, int64_t off, qrl_challenge *c) {
  cJSON *o = cJSON_ParseWithLength(rec, len);
  int64_t v[16] = {0};
  int bad = 0;
  memset(c, 0, sizeof(*c));
  if (!o) return -1;
  bad |= get_str(o, "id", c->id, sizeof(c->id));
  bad |= get_str(o, "secret", c->secret, sizeof(c->secret));
  bad |= get_str(o, "binding", c->binding, sizeof(c->binding));
  bad |= get_str(o, "flow", c->flow, sizeof(c->flow));
  bad |= get_str(o, "pn", c->portal_name, sizeof(c->portal_name));
  bad |= get_str(o, "po", c->portal_origin, sizeof(c->portal_origin));
  bad |= get_str(o, "ip", c->browser_ip, sizeof(c->browser_ip));
  bad |= get_str(o, "ua", c->browser_ua, sizeof(c->browser_ua));
  if (cJSON_GetObjectItemCaseSensitive(o, "oq"))
    bad |= get_str(o, "oq", c->oidc_req, sizeof(c->oidc_req));
  bad |= get_num(o, "cat", &v[0]) | get_num(o, "cms", &v[1]) | get_num(o, "ems", &v[2]) |
         get_num(o, "fs", &v[3]) | get_num(o, "bc", &v[4]) | get_num(o, "st", &v[5]) |
         get_num(o, "why", &v[6]) | get_num(o, "k", &v[7]);
  if (!bad) {
    c->created_at = v[0];
    c->created_ms = v[1] - off;
    c->expires_ms = v[2] - off;
    c->frame_secs = v[3];
    c->browser_conn = (uint64_t)v[4];
    c->state = (qrl_chal_state)v[5];
    c->why = (qrl_chal_why)v[6];
    c->kiosk = (int)v[7];
    bad |= v[5] < QRL_CHAL_PENDING || v[5] > QRL_CHAL_CANCELLED;
  }
  if (!bad && cJSON_GetObjectItemCaseSensitive(o, "cid")) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "ch");
    bad |= get_str(o, "cid", c->citizen_id, sizeof(c->citizen_id));
    bad |= get_str(o, "sid", c->scanned.id, sizeof(c->scanned.id));
    bad |= get_str(o, "scode", c->scanned.code, sizeof(c->scanned.code));
    bad |= get_num(o, "dev", &v[8]) | get_num(o, "pc", &v[9]) | get_num(o, "sms", &v[10]) |
           get_num(o, "sf", &v[11]) | get_num(o, "m", &v[12]) | get_num(o, "far", &v[13]);
    bad |= !cJSON_IsArray(a) || cJSON_GetArraySize(a) != QRL_MATCH_CHOICES;
    if (!bad) {
      c->device_id = v[8];
      c->phone_conn = (uint64_t)v[9];
      c->scanned_ms = v[10] ? v[10] - off : 0;
      c->scanned.frame = v[11];
      c->match = (int)v[12];
      c->far = (int)v[13];
      for (int i = 0; i < QRL_MATCH_CHOICES; i++)
        c->choices[i] = (int)cJSON_GetArrayItem(a, i)->valuedouble;
    }
  }
  {
    cJSON *sec = cJSON_GetObjectItemCaseSensitive(o, "secret");
    cJSON *bin = cJSON_GetObjectItemCaseSensitive(o, "binding");
    if (cJSON_IsString(sec)) qrl_cleanse(sec->valuestring, strlen(sec->valuestring));
    if (cJSON_IsString(bin)) qrl_cleanse(bin->valuestring, strlen(bin->valuestring));
  }
  cJSON_Delete(o);
  if (bad || qrl_challenge_check(c)) {
    qrl_cleanse(c, sizeof(*c));
    return -1;
  }
  return 0;
}

/* ---- what this node owns ----------------------------------------------------- */

static size_t bucket_of(const char *id) {
  uint64_t h = 1469598103934665603ULL;
  for (; *id; id++) h = (h ^ (unsigned char)*id) * 1099511628211ULL;
  return (size_t)(h % OWNED_BUCKETS);
}

static owned *owned_find(rs_store *s, const char *id) {
  for (owned *o = s->table[bucket_of(id)]; o; o = o->next)
    if (strcmp(o->id, id) == 0) return o;
  return NULL;
}

static owned *owned_add(rs_store *s, const qrl_challenge *c) {
  owned *o = calloc(1, sizeof(*o));
  size_t b = bucket_of(c->id);
  if (!o) return NULL;
  memcpy(o->id, c->id, sizeof(o->id));
  o->store = s;
  o->state = c->state;
  o->expires_ms = c->expires_ms;
  o->next = s->table[b];
  s->table[b] = o;
  s->nowned++;
  s->nlive++;
  return o;
}

/* The page's socket has been told c's state: remember it. */
static void owned_saw(rs_store *s, owned *o, const qrl_challenge *c) {
  int was_live = !qrl_chal_state_terminal(o->state);
  o->state = c->state;
  o->expires_ms = c->expires_ms;
  if (was_live && qrl_chal_state_terminal(c->state)) {
    o->terminal_ms = qrl_clock_mono_ms(s->clock);
    s->nlive--;
  }
}

/* ---- operations in flight ------------------------------------------------------ */

enum { OP_PUT, OP_GET, OP_APPLY, OP_REFRESH, OP_EXPIRE };

typedef struct op {
  rs_store *s;
  int kind;
  char id[QRL_TOKEN_B64LEN + 1];
  qrl_store_fn fn;
  void *arg;
  qrl_store_cb cb;
  void *ud;
  qrl_challenge work; /* the copy being changed (apply), or put */
  qrl_chal_state prev;
  char owner[33];
  char version[24];
  int tries;
  qrl_err rc;         /* fn's answer (apply) */
  int64_t now_ms;     /* an expiry's time (its fn's argument) */
} op;

static void op_free(op *o) {
  qrl_cleanse(&o->work, sizeof(o->work));
  free(o);
}

static void answer(op *o, qrl_err rc, const qrl_challenge *c) {
  if (o->cb) o->cb(o->ud, rc, c);
  op_free(o);
}

static int key_of(char *out, size_t n, const char *id) {
  return snprintf(out, n, "qrl:ch:%s", id) < (int)n ? 0 : -1;
}

/* The state changed: to the sink here, or a word to the owning node. */
static void emit(rs_store *s, const qrl_challenge *c, qrl_chal_state prev, const char *owner);

static void read_record(op *o);

/* ---- put ------------------------------------------------------------------------ */

/* A script's one-word answer ("ok", "retry", ...), or NULL if the call
 * failed or Redis answered something else (an error reply is logged). */
static const char *script_word(rs_store *s, qrl_err err, const redisReply *rep) {
  if (err || !rep) return NULL;
  if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) return rep->str;
  qrl_log_kv(s->log, QRL_LOG_ERROR, "redis_store", "msg",
             rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply to a script",
             (const char *)NULL);
  return NULL;
}

static void put_answered(void *arg, qrl_err err, redisReply *rep) {
  op *o = arg;
  const char *w = script_word(o->s, err, rep);
  qrl_err rc = !w                      ? QRL_UNAVAILABLE
               : !strcmp(w, "ok")      ? QRL_OK
               : !strcmp(w, "busy")    ? QRL_SERVER_BUSY
               : !strcmp(w, "net")     ? QRL_TOO_MANY_CHALLENGES_IP
               : !strcmp(w, "exists")  ? QRL_INVAL
                                       : QRL_INTERNAL;
  if (!rc && !owned_add(o->s, &o->work)) rc = QRL_NOMEM; /* kept in Redis: it expires */
  answer(o, rc, rc ? NULL : &o->work);
}

static void rs_put(qrl_store *base, const qrl_challenge *c, qrl_store_cb cb, void *ud) {
  rs_store *s = (rs_store *)base;
  op *o = calloc(1, sizeof(*o));
  char key[64], net[QRL_NET_KEY_MAX], netkey[80], *rec = NULL;
  int64_t off = wall_offset(s);
  qrl_err rc = QRL_NOMEM;
  if (!o) goto fail;
  *o = (op){.s = s, .kind = OP_PUT, .cb = cb, .ud = ud, .work = *c};
  rc = QRL_INVAL;
  if (qrl_challenge_check(c) || c->state != QRL_CHAL_PENDING || key_of(key, sizeof(key), c->id))
    goto fail;
  qrl_ip_network_key(c->browser_ip, net);
  snprintf(netkey, sizeof(netkey), "qrl:net:%s", net);
  rc = QRL_NOMEM;
  if (!(rec = encode(c, off))) goto fail;
  s->st.calls++;
  rc = qrl_redis_cmd(s->cmd, put_answered, o,
                     "EVAL %s 3 %s qrl:live %s %s %lld %s %llu %llu %lld %s", PUT_LUA, key,
                     netkey, rec, (long long)(c->expires_ms + off), c->id,
                     (unsigned long long)s->max_live, (unsigned long long)s->max_per_net,
                     (long long)s->linger_ms, s->node);
  wipe_free_str(rec);
  if (!rc) return;
fail:
  if (o) op_free(o);
  if (cb) cb(ud, rc, NULL);
}

/* ---- reads, apply, the compare-and-set -------------------------------------- */

static void cas_answered(void *arg, qrl_err err, redisReply *rep);

/* o's copy is read: run the transition and write it back, or answer. */
static void transition(op *o, const qrl_challenge *cur) {
  rs_store *s = o->s;
  char key[64], net[QRL_NET_KEY_MAX], netkey[80], alive[64], *rec;
  int64_t off;
  int need_alive, terminal;
  qrl_err rc;

  o->work = *cur;
  o->prev = cur->state;
  o->rc = o->fn(&o->work, o->arg);
  if (o->rc != QRL_OK && o->work.state == o->prev) {
    answer(o, o->rc, &o->work); /* refused, nothing to write */
    return;
  }
  if (!qrl_challenge_allowed(o->prev, o->work.state) || qrl_challenge_check(&o->work)) {
    qrl_log_kv(s->log, QRL_LOG_ERROR, "redis_store", "msg",
               "refused an invalid challenge change", (const char *)NULL);
    answer(o, QRL_INTERNAL, cur);
    return;
  }
  off = wall_offset(s);
  terminal = qrl_chal_state_terminal(o->work.state);
  need_alive = o->work.state == QRL_CHAL_COMPLETED && strcmp(o->owner, s->node) != 0;
  key_of(key, sizeof(key), o->id);
  qrl_ip_network_key(o->work.browser_ip, net);
  snprintf(netkey, sizeof(netkey), "qrl:net:%s", net);
  snprintf(alive, sizeof(alive), "qrl:alive:%s", o->owner);
  if (!(rec = encode(&o->work, off))) {
    answer(o, QRL_NOMEM, cur);
    return;
  }
  s->st.calls++;
  rc = qrl_redis_cmd(s->cmd, cas_answered, o, "EVAL %s 4 %s qrl:live %s %s %s %s %d %lld %lld %s %d",
                     CAS_LUA, key, netkey, alive, o->version, rec, terminal,
                     (long long)(o->work.expires_ms + off), (long long)s->linger_ms, o->id,
                     need_alive);
  wipe_free_str(rec);
  if (rc) answer(o, QRL_UNAVAILABLE, NULL);
}

static void cas_answered(void *arg, qrl_err err, redisReply *rep) {
  op *o = arg;
  rs_store *s = o->s;
  const char *r = script_word(s, err, rep);
  qrl_challenge done;
  if (!r) {
    answer(o, QRL_UNAVAILABLE, NULL);
    return;
  }
  if (!strcmp(r, "retry")) {
    s->st.cas_retry++;
    if (++o->tries >= CAS_TRIES) answer(o, QRL_UNAVAILABLE, NULL);
    else read_record(o);
    return;
  }
  if (!strcmp(r, "gone")) {
    s->st.gone++;
    o->work.state = o->prev; /* not written */
    answer(o, QRL_BROWSER_GONE, NULL);
    return;
  }
  done = o->work;
  if (done.state != o->prev) emit(s, &done, o->prev, o->owner);
  answer(o, o->rc, &done);
  qrl_cleanse(&done, sizeof(done));
}

/* After a read: the record as the caller needs it. */
static void got_record(op *o, qrl_err rc, const qrl_challenge *c, const char *code,
                       const char *errcode);

static void read_answered(void *arg, qrl_err err, redisReply *rep) {
  op *o = arg;
  rs_store *s = o->s;
  qrl_challenge c;
  const char *code = NULL, *errcode = NULL;
  redisReply **e;

  if (err || !rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 5) {
    got_record(o, QRL_UNAVAILABLE, NULL, NULL, NULL);
    return;
  }
  e = rep->element;
  if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING) { /* nil */
    got_record(o, QRL_CHALLENGE_UNKNOWN, NULL, NULL, NULL);
    return;
  }
  if (decode(e[1]->str, e[1]->len, wall_offset(s), &c) || e[0]->len >= sizeof(o->version)) {
    qrl_log_kv(s->log, QRL_LOG_ERROR, "redis_store", "msg", "a challenge record is corrupt",
               (const char *)NULL);
    got_record(o, QRL_INTERNAL, NULL, NULL, NULL);
    return;
  }
  memcpy(o->version, e[0]->str, e[0]->len + 1);
  if (e[2]->type == REDIS_REPLY_STRING && e[2]->len < sizeof(o->owner))
    memcpy(o->owner, e[2]->str, e[2]->len + 1);
  if (e[3]->type == REDIS_REPLY_STRING) code = e[3]->str;
  if (e[4]->type == REDIS_REPLY_STRING) errcode = e[4]->str;
  got_record(o, QRL_OK, &c, code, errcode);
  qrl_cleanse(&c, sizeof(c));
}

static void read_record(op *o) {
  char key[64];
  qrl_err rc;
  if (key_of(key, sizeof(key), o->id)) {
    got_record(o, QRL_CHALLENGE_UNKNOWN, NULL, NULL, NULL);
    return;
  }
  o->s->st.calls++;
  rc = qrl_redis_cmd(o->s->cmd, read_answered, o, "HMGET %s v d o c e", key);
  if (rc) got_record(o, QRL_UNAVAILABLE, NULL, NULL, NULL);
}

static void refreshed(op *o, const qrl_challenge *c, const char *code, const char *errcode);

static void got_record(op *o, qrl_err rc, const qrl_challenge *c, const char *code,
                       const char *errcode) {
  switch (o->kind) {
  case OP_GET:
    answer(o, rc, c);
    return;
  case OP_APPLY:
  case OP_EXPIRE:
    if (rc) answer(o, rc, NULL);
    else transition(o, c);
    return;
  case OP_REFRESH:
    if (!rc) refreshed(o, c, code, errcode);
    op_free(o);
    return;
  }
}

static op *op_new(rs_store *s, int kind, const char *id) {
  op *o = calloc(1, sizeof(*o));
  if (!o) return NULL;
  o->s = s;
  o->kind = kind;
  snprintf(o->id, sizeof(o->id), "%s", id);
  return o;
}

/* A read (then, for apply, the transition fn(arg)) answering cb(ud, ...). */
static void start(rs_store *s, int kind, const char *id, qrl_store_fn fn, void *arg,
                  qrl_store_cb cb, void *ud) {
  op *o = op_new(s, kind, id);
  if (!o) {
    if (cb) cb(ud, QRL_NOMEM, NULL);
    return;
  }
  o->fn = fn;
  o->arg = arg;
  o->cb = cb;
  o->ud = ud;
  read_record(o);
}

static void rs_get(qrl_store *base, const char *id, qrl_store_cb cb, void *ud) {
  start((rs_store *)base, OP_GET, id, NULL, NULL, cb, ud);
}

static void rs_apply(qrl_store *base, const char *id, qrl_store_fn fn, void *arg,
                     qrl_store_cb cb, void *ud) {
  start((rs_store *)base, OP_APPLY, id, fn, arg, cb, ud);
}

/* ---- events between nodes ---------------------------------------------------- */

static void published(void *arg, qrl_err err, redisReply *rep) {
  rs_store *s = arg;
  if (err || !rep || rep->type == REDIS_REPLY_ERROR)
    qrl_log_kv(s->log, QRL_LOG_WARN, "redis_event_lost", "msg",
               err ? "Redis unreachable" : rep && rep->str ? rep->str : "error",
               (const char *)NULL);
}

static void emit(rs_store *s, const qrl_challenge *c, qrl_chal_state prev, const char *owner) {
  owned *o = owned_find(s, c->id);
  if (o) { /* ours: its page is here */
    owned_saw(s, o, c);
    if (s->base.sink) s->base.sink(s->base.sink_ud, c, prev);
    return;
  }
  if (!owner[0]) return;
  s->st.calls++;
  s->st.published++;
  if (qrl_redis_cmd(s->cmd, published, s, "PUBLISH qrl:ev:%s %s", owner, c->id))
    published(s, QRL_UNAVAILABLE, NULL);
}

/* The owner re-reads one of its challenges: tells its page what changed. */
static void refreshed(op *r, const qrl_challenge *c, const char *code, const char *errcode) {
  rs_store *s = r->s;
  owned *o = owned_find(s, c->id);
  if (!o) return;
  if (c->state != o->state) {
    qrl_chal_state prev = o->state;
    owned_saw(s, o, c);
    if (s->base.sink) s->base.sink(s->base.sink_ud, c, prev);
  } else if (c->state == QRL_CHAL_PENDING && c->expires_ms > o->expires_ms + 500) {
    qrl_store_note n = {QRL_STORE_HELD, NULL, QRL_OK};
    o->expires_ms = c->expires_ms;
    if (s->base.note_sink) s->base.note_sink(s->base.note_ud, c, &n);
  }
  if ((code || errcode) && !o->told_done) {
    qrl_err e = errcode && errcode[0] ? qrl_err_from_code(errcode) : QRL_OK;
    qrl_store_note n = {QRL_STORE_COMPLETED, code && code[0] ? code : NULL,
                        e != QRL_OK || !(code && code[0]) ? (e ? e : QRL_INTERNAL) : QRL_OK};
    o->told_done = 1;
    if (s->base.note_sink) s->base.note_sink(s->base.note_ud, c, &n);
  }
}

static void refresh(rs_store *s, const char *id) {
  op *o;
  if (!owned_find(s, id) || !(o = op_new(s, OP_REFRESH, id))) return;
  read_record(o);
}

static void on_event(void *arg, const char *msg, size_t len) {
  rs_store *s = arg;
  char id[QRL_TOKEN_B64LEN + 1];
  if (len == 0 || len >= sizeof(id)) return;
  memcpy(id, msg, len);
  id[len] = '\0';
  s->st.heard++;
  refresh(s, id);
}

/* Subscribed again: what was said meanwhile is lost, so every live
 * challenge of ours is re-read. */
static void check_ready(rs_store *s);

static void on_subscribed(void *arg) {
  rs_store *s = arg;
  s->subscribed = 1;
  check_ready(s);
  for (size_t b = 0; b < OWNED_BUCKETS; b++)
    for (owned *o = s->table[b]; o; o = o->next)
      if (!qrl_chal_state_terminal(o->state) || !o->told_done) refresh(s, o->id);
}

static void rs_tell(qrl_store *base, const qrl_challenge *c, const qrl_store_note *n) {
  rs_store *s = (rs_store *)base;
  owned *o = owned_find(s, c->id);
  char key[64];
  if (o) {
    if (n->kind == QRL_STORE_COMPLETED) o->told_done = 1;
    if (n->kind == QRL_STORE_HELD) o->expires_ms = c->expires_ms;
    if (s->base.note_sink) s->base.note_sink(s->base.note_ud, c, n);
    return;
  }
  if (key_of(key, sizeof(key), c->id)) return;
  s->st.calls++;
  s->st.published++;
  if (qrl_redis_cmd(s->cmd, published, s, "EVAL %s 1 %s %s %s %s %s", TELL_LUA, key,
                    n->kind == QRL_STORE_COMPLETED ? "c" : "h", n->code ? n->code : "",
                    n->err ? qrl_err_code(n->err) : "", c->id))
    published(s, QRL_UNAVAILABLE, NULL);
}

/* ---- time passing -------------------------------------------------------------- */

static qrl_err expire_fn(qrl_challenge *c, void *arg) {
  int64_t *now_ms = arg;
  qrl_err rc;
  if (qrl_challenge_expire(c, *now_ms)) return QRL_OK;
  rc = qrl_challenge_state_error(c->state);
  return rc ? rc : QRL_INVAL; /* live still (another node gave it more time) */
}

static void expired(void *ud, qrl_err rc, const qrl_challenge *c) {
  owned *o = ud;
  o->expiring = 0;
  /* Still live: its expiry moved (an event of that may have been lost). */
  if (c && !qrl_chal_state_terminal(c->state) && c->expires_ms > o->expires_ms)
    o->expires_ms = c->expires_ms;
  /* Gone from Redis (it outlived its record while Redis was away): it is
   * over here too. */
  if (rc == QRL_CHALLENGE_UNKNOWN && !o->terminal_ms) {
    o->state = QRL_CHAL_EXPIRED;
    o->terminal_ms = qrl_clock_mono_ms(((rs_store *)o->store)->clock);
    ((rs_store *)o->store)->nlive--;
  }
}

static size_t rs_sweep(qrl_store *base, int64_t now_ms) {
  rs_store *s = (rs_store *)base;
  size_t n = 0;
  for (size_t b = 0; b < OWNED_BUCKETS; b++) {
    owned **p = &s->table[b];
    while (*p) {
      owned *o = *p;
      if (o->terminal_ms && now_ms - o->terminal_ms >= s->linger_ms) {
        *p = o->next;
        s->nowned--;
        free(o);
        continue;
      }
      if (!o->terminal_ms && !o->expiring && now_ms >= o->expires_ms) {
        /* Written in Redis like any transition (another node may have
         * moved it meanwhile); its event comes back here. */
        op *e = op_new(s, OP_EXPIRE, o->id);
        if (e) {
          e->fn = expire_fn;
          e->now_ms = now_ms; /* the fn's argument lives in the op */
          e->arg = &e->now_ms;
          e->cb = expired;
          e->ud = o;
          o->expiring = 1;
          n++;
          read_record(e);
        }
      }
      p = &o->next;
    }
  }
  return n;
}

static size_t rs_live(qrl_store *base) { return ((rs_store *)base)->nlive; }

/* ---- life ---------------------------------------------------------------------- */

/* Ready: both connections up, subscribed, the heartbeat written. Said once
 * per change; the heartbeat runs every 100 ms until then. */
static void check_ready(rs_store *s) {
  int now = qrl_redis_state_of(s->cmd) == QRL_REDIS_UP &&
            qrl_redis_state_of(s->sub) == QRL_REDIS_UP && s->beat_ok && s->subscribed;
  if (qrl_redis_state_of(s->sub) != QRL_REDIS_UP) s->subscribed = 0;
  if (now == s->ready) return;
  s->ready = now;
  qrl_log_kv(s->log, now ? QRL_LOG_NOTICE : QRL_LOG_WARN,
             now ? "store_ready" : "store_unavailable", "node_id", s->node,
             (const char *)NULL);
  uv_timer_set_repeat(&s->beat, now ? HEARTBEAT_MS : HEARTBEAT_MS / 10);
}

static void beat_answered(void *arg, qrl_err err, redisReply *rep) {
  rs_store *s = arg;
  s->beat_ok = !err && rep && rep->type == REDIS_REPLY_STATUS;
  check_ready(s);
}

static void on_beat(uv_timer_t *t) {
  rs_store *s = t->data;
  s->st.calls++;
  if (qrl_redis_cmd(s->cmd, beat_answered, s, "SET qrl:alive:%s 1 PX %d", s->node,
                    HEARTBEAT_TTL_MS))
    s->beat_ok = 0;
  check_ready(s);
}

typedef struct leaving {
  void (*done)(void *arg);
  void *arg;
} leaving;

static void left_answered(void *arg, qrl_err err, redisReply *rep) {
  leaving *l = arg;
  (void)err;
  (void)rep;
  l->done(l->arg);
  free(l);
}

void qrl_store_redis_leave(qrl_store *base, void (*done)(void *arg), void *arg) {
  rs_store *s = (rs_store *)base;
  leaving *l = malloc(sizeof(*l));
  uv_timer_stop(&s->beat);
  if (!l) {
    done(arg);
    return;
  }
  *l = (leaving){done, arg};
  s->st.calls++;
  if (qrl_redis_cmd(s->cmd, left_answered, l, "DEL qrl:alive:%s", s->node)) {
    free(l);
    done(arg); /* unreachable: the heartbeat lapses by itself (3 s) */
  }
}

/* A connection came up or went down: readiness follows at once (a beat
 * now, when the command connection is back). */
static void cmd_state(void *arg, int up) {
  rs_store *s = arg;
  s->beat_ok = 0;
  if (up) on_beat(&s->beat);
  else check_ready(s);
}

static void sub_state(void *arg, int up) {
  rs_store *s = arg;
  if (!up) s->subscribed = 0;
  check_ready(s);
}

static void beat_closed(uv_handle_t *h) { free(h->data); }

static void rs_destroy(qrl_store *base) {
  rs_store *s = (rs_store *)base;
  /* First the connections: what waits on them is answered (QRL_UNAVAILABLE)
   * while the table it may refer to is still here. */
  qrl_redis_free(s->sub);
  qrl_redis_free(s->cmd);
  for (size_t b = 0; b < OWNED_BUCKETS; b++) {
    owned *o = s->table[b];
    while (o) {
      owned *next = o->next;
      free(o);
      o = next;
    }
    s->table[b] = NULL;
  }
  uv_timer_stop(&s->beat);
  uv_close((uv_handle_t *)&s->beat, beat_closed);
}

static const qrl_store_ops rs_ops = {rs_put, rs_get, rs_apply, rs_tell,
                                     rs_sweep, rs_live, rs_destroy};

qrl_store *qrl_store_redis_new(uv_loop_t *loop, const qrl_redis_addr *addr, const char *node,
                               size_t max_live, size_t max_per_net, int64_t linger,
                               const qrl_clock *clock, qrl_log *log, qrl_store_sink sink,
                               void *sink_ud) {
  rs_store *s = calloc(1, sizeof(*s));
  char channel[64];
  if (!s) return NULL;
  s->base.ops = &rs_ops;
  s->base.sink = sink;
  s->base.sink_ud = sink_ud;
  s->loop = loop;
  s->clock = clock;
  s->off = offset_now(clock);
  s->log = log;
  snprintf(s->node, sizeof(s->node), "%s", node);
  s->max_live = max_live;
  s->max_per_net = max_per_net;
  s->linger_ms = linger * 1000;
  snprintf(channel, sizeof(channel), "qrl:ev:%s", s->node);
  s->cmd = qrl_redis_new(loop, addr, 2000, 1000, log);
  s->sub = qrl_redis_new(loop, addr, 2000, 1000, log);
  if (!s->cmd || !s->sub) {
    qrl_redis_free(s->cmd);
    qrl_redis_free(s->sub);
    free(s);
    return NULL;
  }
  qrl_redis_subscribe(s->sub, channel, on_event, on_subscribed, s);
  qrl_redis_on_state(s->cmd, cmd_state, s);
  qrl_redis_on_state(s->sub, sub_state, s);
  uv_timer_init(loop, &s->beat);
  s->beat.data = s;
  uv_timer_start(&s->beat, on_beat, HEARTBEAT_MS / 10, HEARTBEAT_MS / 10);
  return &s->base;
}

int qrl_store_redis_ready(const qrl_store *s) { return ((const rs_store *)s)->ready; }

const qrl_store_redis_stats *qrl_store_redis_stats_of(const qrl_store *s) {
  return &((const rs_store *)s)->st;
}

qrl_redis_state qrl_store_redis_state(const qrl_store *s) {
  return qrl_redis_state_of(((const rs_store *)s)->cmd);
}

qrl_redis *qrl_store_redis_conn(qrl_store *s) { return ((rs_store *)s)->cmd; }

int qrl_store_is_redis(const qrl_store *s) { return s && s->ops == &rs_ops; }
