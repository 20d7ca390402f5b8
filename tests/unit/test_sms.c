/*
 * test_sms.c - the SMS gateways and helpers: the outbox file (created 0600,
 * one JSON line per message, text escaped, appends from many threads never
 * interleave), the demo mobile network and its inbox (per number, after an
 * id, newest cap oldest first), phone number shape and masking, the OTP text.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "domain/sms.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000

TEST(phone_numbers_are_ten_digits_from_zero) {
  ASSERT_TRUE(qrl_phone_valid("0912345678"));
  ASSERT_TRUE(qrl_phone_valid("0243123456"));
  ASSERT_FALSE(qrl_phone_valid("912345678"));
  ASSERT_FALSE(qrl_phone_valid("09123456789"));
  ASSERT_FALSE(qrl_phone_valid("1912345678"));
  ASSERT_FALSE(qrl_phone_valid("09123a5678"));
  ASSERT_FALSE(qrl_phone_valid("+84912345678"));
  ASSERT_FALSE(qrl_phone_valid(""));
  ASSERT_FALSE(qrl_phone_valid(NULL));
  return 0;
}

TEST(masks_keep_only_the_ends) {
  char m[16];
  qrl_phone_mask("0912345678", m);
  ASSERT_EQ_STR(m, "09******78");
  qrl_phone_mask("12345", m);
  ASSERT_EQ_STR(m, "12*45");
  qrl_phone_mask("1234", m); /* too short to show anything */
  ASSERT_EQ_STR(m, "******");
  qrl_phone_mask("1234567890123456", m); /* too long */
  ASSERT_EQ_STR(m, "******");
  qrl_phone_mask(NULL, m);
  ASSERT_EQ_STR(m, "******");
  return 0;
}

TEST(otp_text_names_the_portal_code_and_lifetime) {
  char out[200], tiny[20];
  ASSERT_ERR(qrl_sms_otp_text("DVCQG", "042917", 5, out, sizeof(out)), QRL_OK);
  ASSERT_TRUE(strstr(out, "DVCQG") == out);
  ASSERT_TRUE(strstr(out, "042917") != NULL);
  ASSERT_TRUE(strstr(out, "5 phut") != NULL);
  ASSERT_TRUE(strstr(out, "KHONG cung cap") != NULL);
  ASSERT_ERR(qrl_sms_otp_text("DVCQG", "042917", 5, tiny, sizeof(tiny)), QRL_NOMEM);
  return 0;
}

/* Reads every line of path as JSON; returns how many parsed (-1 if one did
 * not). The last one is kept in *last (caller deletes). */
static int read_lines(const char *path, cJSON **last) {
  char line[2048];
  int n = 0;
  FILE *f = fopen(path, "r");
  *last = NULL;
  if (!f) return -1;
  while (fgets(line, sizeof(line), f)) {
    cJSON *j = cJSON_Parse(line);
    if (!j || !strchr(line, '\n')) {
      cJSON_Delete(j);
      n = -1;
      break;
    }
    cJSON_Delete(*last);
    *last = j;
    n++;
  }
  fclose(f);
  return n;
}

TEST(outbox_appends_json_lines_only_its_owner_reads) {
  qrl_tmpdb t;
  char path[160];
  struct stat sb;
  qrl_err err = QRL_OK;
  qrl_sms_gateway *gw;
  cJSON *last = NULL;
  int64_t id = -1;
  ASSERT_EQ_INT(qrl_tmpdb_make(&t, "sms"), 0);
  snprintf(path, sizeof(path), "%s/outbox.log", t.dir);
  gw = qrl_sms_outbox_new(path, &err);
  ASSERT_TRUE(gw != NULL);
  ASSERT_EQ_STR(gw->name, "outbox");
  ASSERT_EQ_INT(stat(path, &sb), 0);
  ASSERT_EQ_INT(sb.st_mode & 0777, 0600);
  ASSERT_ERR(gw->send(gw, NULL, "0912345678", "ma 123456", T0, &id), QRL_OK);
  ASSERT_EQ_INT(id, 0);
  /* Quotes, backslashes, newlines and UTF-8 survive as one JSON line. */
  ASSERT_ERR(gw->send(gw, NULL, "0912345678", "a \"b\" \\ c\nd\te Đăng nhập", T0 + 1, NULL),
             QRL_OK);
  ASSERT_EQ_INT(read_lines(path, &last), 2);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(last, "text")),
                "a \"b\" \\ c\nd\te Đăng nhập");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(last, "to")), "0912345678");
  ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(last, "at")), T0 + 1);
  cJSON_Delete(last);
  gw->free(gw);
  /* Reopened, it appends. */
  gw = qrl_sms_outbox_new(path, &err);
  ASSERT_TRUE(gw != NULL);
  ASSERT_ERR(gw->send(gw, NULL, "0987654321", "x", T0 + 2, NULL), QRL_OK);
  gw->free(gw);
  ASSERT_EQ_INT(read_lines(path, &last), 3);
  cJSON_Delete(last);
  unlink(path);
  qrl_tmpdb_remove(&t);
  /* A directory that does not exist is an I/O error, not a crash. */
  err = QRL_OK;
  ASSERT_TRUE(qrl_sms_outbox_new("/nonexistent-dir/outbox.log", &err) == NULL);
  ASSERT_ERR(err, QRL_IO);
  return 0;
}

typedef struct writer {
  qrl_sms_gateway *gw;
  int id;
} writer;

static void *write_many(void *arg) {
  writer *w = arg;
  char text[200];
  for (int i = 0; i < 200; i++) {
    snprintf(text, sizeof(text), "writer %d message %d %0120d", w->id, i, 0);
    if (w->gw->send(w->gw, NULL, "0912345678", text, T0, NULL)) return (void *)1;
  }
  return NULL;
}

/* Worker threads send at once: 4 × 200 whole lines, none torn. */
TEST(outbox_lines_never_interleave) {
  qrl_tmpdb t;
  char path[160];
  qrl_err err = QRL_OK;
  pthread_t th[4];
  writer w[4];
  cJSON *last = NULL;
  void *res;
  ASSERT_EQ_INT(qrl_tmpdb_make(&t, "sms"), 0);
  snprintf(path, sizeof(path), "%s/outbox.log", t.dir);
  w[0].gw = qrl_sms_outbox_new(path, &err);
  ASSERT_TRUE(w[0].gw != NULL);
  for (int i = 0; i < 4; i++) {
    w[i].gw = w[0].gw;
    w[i].id = i;
    ASSERT_EQ_INT(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ_INT(pthread_join(th[i], &res), 0);
    ASSERT_TRUE(res == NULL);
  }
  w[0].gw->free(w[0].gw);
  ASSERT_EQ_INT(read_lines(path, &last), 800);
  cJSON_Delete(last);
  unlink(path);
  qrl_tmpdb_remove(&t);
  return 0;
}

TEST(demo_network_inbox_per_number_in_order) {
  qrl_tmpdb t;
  qrl_db *db = NULL;
  qrl_err err = QRL_OK;
  qrl_sms_gateway *gw;
  qrl_sms box[4];
  size_t n = 99;
  int64_t ids[6];
  char text[32];
  ASSERT_EQ_INT(qrl_tmpdb_make(&t, "sms"), 0);
  ASSERT_ERR(qrl_db_open(t.path, &db), QRL_OK);
  gw = qrl_sms_sim_new(&err);
  ASSERT_TRUE(gw != NULL);
  ASSERT_EQ_STR(gw->name, "demo-network");
  ASSERT_ERR(qrl_sms_sim_inbox(db, "0912345678", 0, box, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);
  for (int i = 0; i < 6; i++) {
    snprintf(text, sizeof(text), "message %d", i);
    ASSERT_ERR(gw->send(gw, db, "0912345678", text, T0 + i, &ids[i]), QRL_OK);
    ASSERT_TRUE(ids[i] > (i ? ids[i - 1] : 0));
  }
  ASSERT_ERR(gw->send(gw, db, "0987654321", "not yours", T0, NULL), QRL_OK);
  /* The newest four, oldest first. */
  ASSERT_ERR(qrl_sms_sim_inbox(db, "0912345678", 0, box, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 4);
  ASSERT_EQ_STR(box[0].text, "message 2");
  ASSERT_EQ_STR(box[3].text, "message 5");
  ASSERT_EQ_INT(box[3].id, ids[5]);
  ASSERT_EQ_INT(box[3].at, T0 + 5);
  /* Only what came after an id. */
  ASSERT_ERR(qrl_sms_sim_inbox(db, "0912345678", ids[4], box, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(box[0].text, "message 5");
  ASSERT_ERR(qrl_sms_sim_inbox(db, "0987654321", 0, box, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(box[0].text, "not yours");
  ASSERT_ERR(qrl_sms_sim_inbox(db, "0900000000", 0, box, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);
  gw->free(gw);
  qrl_db_close(db);
  qrl_tmpdb_remove(&t);
  return 0;
}

TEST_MAIN(phone_numbers_are_ten_digits_from_zero, masks_keep_only_the_ends,
          otp_text_names_the_portal_code_and_lifetime,
          outbox_appends_json_lines_only_its_owner_reads, outbox_lines_never_interleave,
          demo_network_inbox_per_number_in_order)
