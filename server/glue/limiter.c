/*
 * limiter.c - token buckets in Redis (limiter.h): two Lua scripts, sent with
 * EVAL (Redis keeps them compiled by their digest; one round trip each, and
 * nothing to load again after a Redis restart).
 *
 * A bucket of limit tokens per window seconds earns a token every
 * T = window / limit seconds. Its key holds the TAT (GCRA's theoretical
 * arrival time, unix us): the bucket holds limit - (TAT - now) / T tokens
 * (limit when TAT <= now or the key is gone). A take is allowed when
 * TAT - now <= (limit - 1) * T and moves TAT to max(TAT, now) + T; a give
 * moves it back by T. The key expires when TAT passes: a full bucket is an
 * absent key.
 *
 * A hit (qrl_limiter_hit) is counted even past the budget: the node let
 * it through already (throttle.h), and a count that leaves it out would
 * let every node pass one each time the bucket earns a token. The debt is
 * at most another limit tokens (TAT <= now + 2 * window).
 *
 * Every call sends three key slots and, last, the rules as one argument
 * ("limit,window[,reset];..."): with fewer buckets the unused slots ("")
 * fall into ARGV, before the rules, which the scripts read as ARGV[#ARGV].
 */
#include "glue/limiter.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/ratelimit.h"

/* KEYS: the buckets; ARGV[#ARGV]: "limit,window;..." per key, after "h;"
 * for a hit (one key, counted even past the budget).
 * {1, 0, 0, level1, ...} or {0, index, retry_ms, level}; a hit's
 * {within, 1, retry_ms, level}. */
static const char TAKE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local lim, iv, tat, n = {}, {}, {}, 0\n"
    "local hit = string.sub(ARGV[#ARGV], 1, 2) == 'h;'\n"
    "for l, w in string.gmatch(ARGV[#ARGV], '(%d+),(%d+)') do\n"
    "  n = n + 1\n"
    "  lim[n] = tonumber(l)\n"
    "  iv[n] = tonumber(w) * 1000000 / lim[n]\n"
    "end\n"
    "if n ~= #KEYS or n == 0 then return redis.error_reply('qrl: bad buckets') end\n"
    "for k = 1, n do\n"
    "  local v = tonumber(redis.call('GET', KEYS[k]) or 0) or 0\n"
    "  if v < now then v = now end\n"
    "  local over = v - now - (lim[k] - 1) * iv[k]\n"
    "  if hit then\n"
    "    local nt = math.min(v + iv[k], now + 2 * lim[k] * iv[k])\n"
    "    redis.call('SET', KEYS[k], string.format('%.0f', nt), 'PX',\n"
    "               math.ceil((nt - now) / 1000) + 1)\n"
    "    if over < 0 then over = 0 end\n"
    "    return {over > 0 and 0 or 1, 1, math.ceil(over / 1000),\n"
    "            math.floor((lim[k] - (nt - now) / iv[k]) * 1000)}\n"
    "  end\n"
    "  if over > 0 then\n"
    "    return {0, k, math.ceil(over / 1000), math.floor((lim[k] - (v - now) / iv[k]) * 1000)}\n"
    "  end\n"
    "  tat[k] = v + iv[k]\n"
    "end\n"
    "local out = {1, 0, 0}\n"
    "for k = 1, n do\n"
    "  redis.call('SET', KEYS[k], string.format('%.0f', tat[k]), 'PX',\n"
    "             math.ceil((tat[k] - now) / 1000) + 1)\n"
    "  out[#out + 1] = math.floor((lim[k] - (tat[k] - now) / iv[k]) * 1000)\n"
    "end\n"
    "return out\n";

/* KEYS: the buckets; ARGV[#ARGV]: "limit,window,reset;..." per key. */
static const char GIVE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local k = 0\n"
    "for l, w, m in string.gmatch(ARGV[#ARGV], '(%d+),(%d+),(%d)') do\n"
    "  k = k + 1\n"
    "  if k > #KEYS then break end\n"
    "  if m == '1' then\n"
    "    redis.call('DEL', KEYS[k])\n"
    "  else\n"
    "    local v = (tonumber(redis.call('GET', KEYS[k]) or 0) or 0) -\n"
    "              tonumber(w) * 1000000 / tonumber(l)\n"
    "    if v <= now then redis.call('DEL', KEYS[k])\n"
    "    else redis.call('SET', KEYS[k], string.format('%.0f', v), 'PX',\n"
    "                    math.ceil((v - now) / 1000) + 1) end\n"
    "  end\n"
    "end\n"
    "return k\n";

#define KEY_CAP (sizeof(QRL_LIMITER_PREFIX) + QRL_RL_KEY_MAX)

enum { GIVE, TAKE, HIT };

typedef struct call {
  qrl_limiter_cb cb;
  void *arg;
  size_t n;
  int kind;
} call;

/* A hit's {within, 1, retry_ms, level}; level may be below 0 (a debt). */
static qrl_err parse_hit(const redisReply *rep, qrl_limiter_result *res) {
  if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 4) return QRL_UNAVAILABLE;
  for (size_t i = 0; i < 4; i++)
    if (rep->element[i]->type != REDIS_REPLY_INTEGER) return QRL_UNAVAILABLE;
  res->level_milli[0] = rep->element[3]->integer;
  if (rep->element[0]->integer == 1) return QRL_OK;
  res->refused = 1;
  res->retry_ms = rep->element[2]->integer < 1 ? 1 : rep->element[2]->integer;
  return QRL_RATE_LIMITED;
}

static qrl_err parse_take(const redisReply *rep, size_t n, qrl_limiter_result *res) {
  size_t i;
  if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) return QRL_UNAVAILABLE;
  for (i = 0; i < rep->elements; i++)
    if (rep->element[i]->type != REDIS_REPLY_INTEGER) return QRL_UNAVAILABLE;
  if (rep->element[0]->integer == 1) {
    if (rep->elements != 3 + n) return QRL_UNAVAILABLE;
    for (i = 0; i < n; i++)
      res->level_milli[i] = rep->element[3 + i]->integer < 0 ? 0 : rep->element[3 + i]->integer;
    return QRL_OK;
  }
  if (rep->elements != 4 || rep->element[1]->integer < 1 ||
      rep->element[1]->integer > (long long)n)
    return QRL_UNAVAILABLE;
  res->refused = (int)rep->element[1]->integer;
  res->retry_ms = rep->element[2]->integer < 1 ? 1 : rep->element[2]->integer;
  res->level_milli[0] = rep->element[3]->integer < 0 ? 0 : rep->element[3]->integer;
  return QRL_RATE_LIMITED;
}

static void on_reply(void *arg, qrl_err err, struct redisReply *rep) {
  call *c = arg;
  qrl_limiter_result res;
  memset(&res, 0, sizeof(res));
  if (err) res.err = QRL_UNAVAILABLE;
  else if (c->kind == TAKE) res.err = parse_take(rep, c->n, &res);
  else if (c->kind == HIT) res.err = parse_hit(rep, &res);
  else res.err = rep->type == REDIS_REPLY_INTEGER ? QRL_OK : QRL_UNAVAILABLE;
  if (c->cb) c->cb(c->arg, &res);
  free(c);
}

/* Sends one script over the n buckets with the rules text. */
static qrl_err send_call(qrl_redis *r, int kind, const qrl_limiter_bucket *b, const int *reset,
                    size_t n, qrl_limiter_cb cb, void *arg) {
  char keys[QRL_LIMITER_MAX][KEY_CAP], rules[QRL_LIMITER_MAX * 32 + 3] = "";
  size_t used = 0;
  int take = kind != GIVE;
  call *c;
  qrl_err err;
  if (!r || n < 1 || n > QRL_LIMITER_MAX || (take && !cb) || (kind == HIT && n != 1))
    return QRL_INVAL;
  if (kind == HIT) used = (size_t)snprintf(rules, sizeof(rules), "h;");
  memset(keys, 0, sizeof(keys));
  for (size_t i = 0; i < n; i++) {
    int k, m;
    if (!b[i].key || !b[i].key[0] || strlen(b[i].key) > QRL_RL_KEY_MAX || b[i].limit < 1 ||
        b[i].window < 1)
      return QRL_INVAL;
    k = snprintf(keys[i], sizeof(keys[i]), QRL_LIMITER_PREFIX "%s", b[i].key);
    m = take ? snprintf(rules + used, sizeof(rules) - used, "%d,%d;", b[i].limit, b[i].window)
             : snprintf(rules + used, sizeof(rules) - used, "%d,%d,%d;", b[i].limit,
                        b[i].window, reset && reset[i] ? 1 : 0);
    if (k < 0 || (size_t)k >= sizeof(keys[i]) || m < 0 || (size_t)m >= sizeof(rules) - used)
      return QRL_INVAL;
    used += (size_t)m;
  }
  if (!(c = calloc(1, sizeof(*c)))) return QRL_UNAVAILABLE;
  c->cb = cb;
  c->arg = arg;
  c->n = n;
  c->kind = kind;
  err = qrl_redis_cmd(r, on_reply, c, "EVAL %s %d %s %s %s %s", take ? TAKE_LUA : GIVE_LUA,
                      (int)n, keys[0], keys[1], keys[2], rules);
  if (err) free(c);
  return err;
}

qrl_err qrl_limiter_take(qrl_redis *r, const qrl_limiter_bucket *b, size_t n,
                         qrl_limiter_cb cb, void *arg) {
  return send_call(r, TAKE, b, NULL, n, cb, arg);
}

qrl_err qrl_limiter_hit(qrl_redis *r, const qrl_limiter_bucket *b, qrl_limiter_cb cb,
                        void *arg) {
  return send_call(r, HIT, b, NULL, 1, cb, arg);
}

qrl_err qrl_limiter_give(qrl_redis *r, const qrl_limiter_bucket *b, const int *reset,
                         size_t n, qrl_limiter_cb cb, void *arg) {
  return send_call(r, GIVE, b, reset, n, cb, arg);
}
