/*
 * test_tlscert.c - helpers/tls.h: a good chain and key load, with the
 * certificate's fingerprint and expiry; every bad one is refused with its
 * reason and leaves the loaded one in place: not PEM, a key of another
 * certificate, expired, not yet valid, a key others can read, a missing
 * file. (The handshake side: integration/test_logs.c.)
 */
#define _GNU_SOURCE
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers/tls.h"
#include "test.h"

static char dir[] = "/tmp/qrl-tls-unit-XXXXXX";

/* Writes a self-signed P-256 certificate valid from now+from_s to
 * now+until_s as NAME.crt and its key as NAME.key (mode). 0 or -1. */
static int make(const char *name, long from_s, long until_s, mode_t mode) {
  char path[200];
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  FILE *f;
  int rc = -1;
  if (!pk || !x) goto out;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), until_s);
  X509_set_pubkey(x, pk);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             (const unsigned char *)name, -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  if (!X509_sign(x, pk, EVP_sha256())) goto out;
  snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
  if (!(f = fopen(path, "w"))) goto out;
  PEM_write_X509(f, x);
  fclose(f);
  snprintf(path, sizeof(path), "%s/%s.key", dir, name);
  if (!(f = fopen(path, "w"))) goto out;
  fchmod(fileno(f), mode);
  PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
  fclose(f);
  rc = 0;
out:
  X509_free(x);
  EVP_PKEY_free(pk);
  return rc;
}

static const char *p(const char *name) {
  static char bufs[4][200];
  static int i;
  i = (i + 1) % 4;
  snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", dir, name);
  return bufs[i];
}

TEST(good_loads_and_bad_is_refused_keeping_the_old) {
  qrl_tls t;
  char why[512], good[65];
  FILE *f;
  memset(&t, 0, sizeof(t));
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_EQ_INT(make("a", -60, 86400, 0600), 0);
  ASSERT_EQ_INT(make("b", -60, 86400, 0600), 0);
  ASSERT_EQ_INT(make("old", -172800, -86400, 0600), 0);
  ASSERT_EQ_INT(make("future", 86400, 172800, 0600), 0);
  ASSERT_EQ_INT(make("open", -60, 86400, 0644), 0);
  ASSERT_TRUE((f = fopen(p("junk.crt"), "w")) != NULL);
  fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
  fclose(f);
  ASSERT_TRUE((f = fopen(p("junk.key"), "w")) != NULL);
  ASSERT_EQ_INT(fchmod(fileno(f), 0600), 0);
  fputs("no key here\n", f);
  fclose(f);

  ASSERT_EQ_INT(qrl_tls_load(&t, p("a.crt"), p("a.key"), why, sizeof(why)), QRL_OK);
  ASSERT_EQ_INT((int)strlen(t.sha256), 64);
  ASSERT_TRUE(t.not_after > time(NULL) + 86000 && t.not_after <= time(NULL) + 86400);
  memcpy(good, t.sha256, sizeof(good));

#define REFUSED(crt, key, code, text)                                                \
  do {                                                                               \
    why[0] = '\0';                                                                   \
    ASSERT_EQ_INT(qrl_tls_load(&t, p(crt), p(key), why, sizeof(why)), code);         \
    if (!strstr(why, text)) TEST_FAIL_("%s + %s: '%s', want '%s'", crt, key, why, text); \
    ASSERT_EQ_STR(t.sha256, good); /* the loaded one stays */                        \
  } while (0)
  REFUSED("a.crt", "b.key", QRL_INVAL, "is not the private key of the certificate");
  REFUSED("old.crt", "old.key", QRL_INVAL, "has expired");
  REFUSED("future.crt", "future.key", QRL_INVAL, "is not valid yet");
  REFUSED("open.crt", "open.key", QRL_INVAL, "chmod 600");
  REFUSED("junk.crt", "a.key", QRL_INVAL, "holds no PEM certificate");
  REFUSED("a.key", "a.key", QRL_INVAL, "holds no PEM certificate");
  REFUSED("a.crt", "junk.key", QRL_INVAL, "holds no PEM private key");
  REFUSED("none.crt", "a.key", QRL_IO, "cannot read the certificate");
  REFUSED("a.crt", "none.key", QRL_IO, "cannot read the key");
#undef REFUSED
  ASSERT_TRUE(t.leaf && t.key);

  /* Another good one replaces it. */
  ASSERT_EQ_INT(qrl_tls_load(&t, p("b.crt"), p("b.key"), why, sizeof(why)), QRL_OK);
  ASSERT_TRUE(strcmp(t.sha256, good) != 0);
  qrl_tls_free(&t);
  qrl_tls_free(&t); /* twice is harmless */
  {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ASSERT_EQ_INT(system(cmd), 0);
  }
  return 0;
}

TEST_MAIN(good_loads_and_bad_is_refused_keeping_the_old)
