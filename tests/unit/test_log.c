/*
 * test_log.c - helpers/log.h: each line is one valid JSON object (or one
 * logfmt line) whatever the values hold - quotes, newlines, control bytes,
 * UTF-8, a value too long for a line; levels filter; a citizen ID is masked;
 * a reopen after the file was moved writes to a new file at the path.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/log.h"
#include "test.h"

/* The log's lines so far, from the start of the file at path. */
static char *slurp(const char *path) {
  static char buf[1 << 16];
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  return buf;
}

static int tmp_log(qrl_log *l, char path[64]) {
  int fd;
  snprintf(path, 64, "/tmp/qrl-log-XXXXXX");
  if ((fd = mkstemp(path)) < 0) return -1;
  close(fd);
  qrl_log_init(l);
  return qrl_log_open(l, path) == QRL_OK ? 0 : -1;
}

TEST(json_lines_stay_json_whatever_the_values) {
  qrl_log l;
  char path[64], big[5000];
  const char *text;
  cJSON *j;
  ASSERT_EQ_INT(tmp_log(&l, path), 0);
  qrl_log_set(&l, QRL_LOG_INFO, QRL_LOG_JSON);
  qrl_log_kv(&l, QRL_LOG_INFO, "odd", "quote", "say \"hi\"\n{\"event\":\"forged\"}", "ctl",
             "a\x01\x7f" "b\\", "vi", "Nguyễn Văn An", "gone", (const char *)NULL, "after", "x",
             (const char *)NULL);
  ASSERT_EQ_INT((int)l.lines, 1);
  text = slurp(path);
  ASSERT_TRUE(strchr(text, '\n') == text + strlen(text) - 1); /* one line */
  ASSERT_TRUE((j = cJSON_Parse(text)) != NULL);
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "event")->valuestring, "odd");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "level")->valuestring, "info");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "quote")->valuestring, "say \"hi\"\n{\"event\":\"forged\"}");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "ctl")->valuestring, "a\x01\x7f" "b\\");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "vi")->valuestring, "Nguyễn Văn An");
  ASSERT_TRUE(cJSON_GetObjectItem(j, "gone") == NULL); /* a NULL value is left out */
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "after")->valuestring, "x");
  ASSERT_EQ_INT((int)strlen(cJSON_GetObjectItem(j, "time")->valuestring), 24);
  cJSON_Delete(j);

  /* Too long for a line: cut, still one JSON object, the cut said. */
  ASSERT_EQ_INT(ftruncate(l.fd, 0), 0);
  for (size_t i = 0; i < sizeof(big) - 1; i++) big[i] = "aé\""[i % 3];
  big[sizeof(big) - 1] = '\0';
  qrl_log_kv(&l, QRL_LOG_WARN, "big", "v", big, "w", "lost", (const char *)NULL);
  text = slurp(path);
  ASSERT_TRUE(strlen(text) <= 2048);
  ASSERT_TRUE((j = cJSON_Parse(text)) != NULL);
  ASSERT_TRUE(strstr(cJSON_GetObjectItem(j, "v")->valuestring, "...") != NULL);
  ASSERT_TRUE(cJSON_GetObjectItem(j, "w") == NULL);
  cJSON_Delete(j);
  qrl_log_close(&l);
  unlink(path);
  return 0;
}

TEST(text_lines_are_logfmt_and_levels_filter) {
  qrl_log l;
  char path[64];
  const char *text;
  ASSERT_EQ_INT(tmp_log(&l, path), 0);
  qrl_log_set(&l, QRL_LOG_NOTICE, QRL_LOG_TEXT);
  qrl_log_kv(&l, QRL_LOG_INFO, "hidden", "k", "v", (const char *)NULL);
  qrl_log_kv(&l, QRL_LOG_DEBUG, "hidden", (const char *)NULL);
  qrl_log_msg(&l, QRL_LOG_NOTICE, "shown", "port %d in use\n", 8080);
  qrl_log_kv(&l, QRL_LOG_ERROR, "err", "bare", "ok", "spaced", "a b", "eq", "x=y", "nl", "1\n2",
             "empty", "", (const char *)NULL);
  text = slurp(path);
  ASSERT_TRUE(strstr(text, "hidden") == NULL);
  ASSERT_TRUE(strstr(text, " notice shown msg=\"port 8080 in use\"\n") != NULL);
  ASSERT_TRUE(strstr(text, " error err bare=ok spaced=\"a b\" eq=\"x=y\" nl=\"1\\n2\" "
                           "empty=\"\"\n") != NULL);
  ASSERT_EQ_INT((int)l.lines, 2);
  ASSERT_EQ_INT(qrl_log_on(&l, QRL_LOG_NOTICE), 1);
  ASSERT_EQ_INT(qrl_log_on(&l, QRL_LOG_INFO), 0);
  qrl_log_close(&l);
  unlink(path);
  return 0;
}

TEST(parse_and_mask) {
  char out[16];
  ASSERT_EQ_INT(qrl_log_parse_level("warn"), QRL_LOG_WARN);
  ASSERT_EQ_INT(qrl_log_parse_level("debug"), QRL_LOG_DEBUG);
  ASSERT_EQ_INT(qrl_log_parse_level("loud"), -1);
  ASSERT_EQ_INT(qrl_log_parse_level(NULL), -1);
  ASSERT_EQ_INT(qrl_log_parse_format("json"), QRL_LOG_JSON);
  ASSERT_EQ_INT(qrl_log_parse_format("JSON"), -1);
  ASSERT_EQ_STR(qrl_log_mask_id("001099012345", out), "001*******45");
  ASSERT_EQ_STR(qrl_log_mask_id("0123", out), "0123");
  ASSERT_EQ_STR(qrl_log_mask_id("", out), "");
  return 0;
}

TEST(reopen_after_a_move_writes_a_new_file) {
  qrl_log l;
  char path[64], moved[80];
  ASSERT_EQ_INT(tmp_log(&l, path), 0);
  qrl_log_kv(&l, QRL_LOG_INFO, "first", (const char *)NULL);
  snprintf(moved, sizeof(moved), "%s.1", path);
  ASSERT_EQ_INT(rename(path, moved), 0);
  qrl_log_kv(&l, QRL_LOG_INFO, "second", (const char *)NULL); /* still the moved file */
  ASSERT_EQ_INT(qrl_log_reopen(&l), QRL_OK);
  qrl_log_kv(&l, QRL_LOG_INFO, "third", (const char *)NULL);
  ASSERT_TRUE(strstr(slurp(moved), "second") != NULL);
  ASSERT_TRUE(strstr(slurp(moved), "third") == NULL);
  ASSERT_TRUE(strstr(slurp(path), "third") != NULL);
  /* A file that cannot be opened: refused, the old one kept. */
  ASSERT_EQ_INT(qrl_log_open(&l, "/nonexistent-dir/x.log"), QRL_IO);
  ASSERT_EQ_STR(l.path, path);
  /* A write that fails is counted, not lost in silence. */
  ASSERT_EQ_INT((int)l.failed, 0);
  {
    int keep = l.fd, ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
    l.fd = ro;
    qrl_log_kv(&l, QRL_LOG_INFO, "nowhere", (const char *)NULL);
    l.fd = keep;
    close(ro);
  }
  ASSERT_EQ_INT((int)l.failed, 1);
  qrl_log_close(&l);
  unlink(path);
  unlink(moved);
  return 0;
}

TEST_MAIN(json_lines_stay_json_whatever_the_values, text_lines_are_logfmt_and_levels_filter,
          parse_and_mask, reopen_after_a_move_writes_a_new_file)
