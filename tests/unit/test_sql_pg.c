/*
 * test_sql_pg.c - what of sql_pg.c needs no PostgreSQL server: the
 * statements' parameters in PostgreSQL's words, and what a URL shows.
 * (The rest runs against real clusters: integration/test_postgresql.c and
 * the integration-pg.* suite.)
 */
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "test.h"

static int same(const char *sql, const char *want, int want_n) {
  int n = -1;
  char *got = qrl_pg_translate(sql, &n);
  int ok = got && !strcmp(got, want) && n == want_n;
  if (!ok) fprintf(stderr, "  %s -> %s (%d), want %s (%d)\n", sql, got ? got : "NULL", n, want,
                   want_n);
  free(got);
  return ok;
}

TEST(parameters_are_numbered_as_sqlite_numbers_them) {
  ASSERT_TRUE(same("SELECT 1", "SELECT 1", 0));
  ASSERT_TRUE(same("VALUES(?,?,?)", "VALUES($1,$2,$3)", 3));
  ASSERT_TRUE(same("WHERE a = ?2 AND b = ?1 OR ?2 IS NULL", "WHERE a = $2 AND b = $1 OR $2 IS NULL",
                   2));
  /* A plain ? after numbered ones is one more than the largest. */
  ASSERT_TRUE(same("?3, ?", "$3, $4", 4));
  ASSERT_TRUE(same("?10 ?", "$10 $11", 11));
  /* Quoted text keeps its question marks. */
  ASSERT_TRUE(same("SELECT '?', \"a?b\", ? FROM t", "SELECT '?', \"a?b\", $1 FROM t", 1));
  ASSERT_TRUE(same("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1));
  return 0;
}

TEST(out_of_range_numbers_are_refused) {
  int n;
  ASSERT_TRUE(qrl_pg_translate("?1000", &n) == NULL);
  ASSERT_TRUE(same("?999", "$999", 999));
  return 0;
}

TEST(a_url_shows_no_password) {
  char out[128];
  qrl_pg_redact("postgresql://u:p%40ss@h:5432/db?sslmode=require", out, sizeof(out));
  ASSERT_EQ_STR(out, "postgresql://u:***@h:5432/db?sslmode=require");
  qrl_pg_redact("postgresql://u:p@ss:w@h/db", out, sizeof(out)); /* an @ left unencoded */
  ASSERT_EQ_STR(out, "postgresql://u:***@h/db");
  qrl_pg_redact("postgresql:///db?host=/s&password=pw&user=u", out, sizeof(out));
  ASSERT_EQ_STR(out, "postgresql:///db?host=/s&password=***&user=u");
  qrl_pg_redact("postgresql://u:pw@h/db?password=pw2", out, 20); /* cut short, terminated */
  ASSERT_EQ_STR(out, "postgresql://u:***@");
  qrl_pg_redact("postgresql://u:pa?ss@h/db", out, sizeof(out)); /* libpq's password: pa?ss */
  ASSERT_EQ_STR(out, "postgresql://u:***@h/db");
  qrl_pg_redact("postgresql://h/db?sslpassword=k&pass%77ord=p&user=u", out, sizeof(out));
  ASSERT_EQ_STR(out, "postgresql://h/db?sslpassword=***&pass%77ord=***&user=u");
  qrl_pg_redact("postgres://u@h/db", out, sizeof(out));
  ASSERT_EQ_STR(out, "postgres://u@h/db");
  qrl_pg_redact("postgresql:///db?host=/run/postgresql", out, sizeof(out));
  ASSERT_EQ_STR(out, "postgresql:///db?host=/run/postgresql");
  ASSERT_EQ_INT(qrl_pg_is_url("postgresql://x"), 1);
  ASSERT_EQ_INT(qrl_pg_is_url("postgres://x"), 1);
  ASSERT_EQ_INT(qrl_pg_is_url("./postgresql://x"), 0);
  ASSERT_EQ_INT(qrl_pg_is_url(NULL), 0);
  return 0;
}

TEST_MAIN(parameters_are_numbered_as_sqlite_numbers_them, out_of_range_numbers_are_refused,
          a_url_shows_no_password)
