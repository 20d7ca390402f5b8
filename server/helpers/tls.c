/*
 * tls.c - certificates from PEM files, checked, handed to each handshake.
 */
#define _GNU_SOURCE /* timegm */
#include "helpers/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* OpenSSL's first queued error as text, or fallback. */
static const char *ssl_reason(const char *fallback) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  return r ? r : fallback;
}

/* The certificate's notAfter as unix time, or 0. */
static int64_t not_after_of(X509 *x) {
  struct tm tm;
  const ASN1_TIME *t = X509_get0_notAfter(x);
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return (int64_t)timegm(&tm);
}

qrl_err qrl_tls_load(qrl_tls *t, const char *cert_path, const char *key_path, char *why,
                     size_t n) {
  FILE *cf = NULL, *kf = NULL;
  X509 *leaf = NULL, *x;
  EVP_PKEY *key = NULL;
  STACK_OF(X509) *chain = NULL;
  unsigned char md[32];
  unsigned int mdlen = 0;
  struct stat sb;
  qrl_err rc = QRL_INVAL;

  ERR_clear_error();
  if (!(cf = fopen(cert_path, "re"))) {
    snprintf(why, n, "cannot read the certificate %s: %s", cert_path, strerror(errno));
    rc = QRL_IO;
    goto out;
  }
  if (!(kf = fopen(key_path, "re"))) {
    snprintf(why, n, "cannot read the key %s: %s", key_path, strerror(errno));
    rc = QRL_IO;
    goto out;
  }
  /* The private key is the owner's alone (as ssh insists for its own). */
  if (fstat(fileno(kf), &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
    snprintf(why, n, "the key %s must be a regular file not readable or writable by group "
                     "or others (chmod 600)", key_path);
    goto out;
  }
  if (!(leaf = PEM_read_X509(cf, NULL, NULL, NULL))) {
    snprintf(why, n, "%s holds no PEM certificate (%s)", cert_path, ssl_reason("no data"));
    goto out;
  }
  if (!(chain = sk_X509_new_null())) {
    snprintf(why, n, "out of memory");
    rc = QRL_NOMEM;
    goto out;
  }
  while ((x = PEM_read_X509(cf, NULL, NULL, NULL))) {
    if (!sk_X509_push(chain, x)) {
      X509_free(x);
      snprintf(why, n, "out of memory");
      rc = QRL_NOMEM;
      goto out;
    }
  }
  ERR_clear_error(); /* the end of the file ends the chain */
  if (!(key = PEM_read_PrivateKey(kf, NULL, NULL, NULL))) {
    snprintf(why, n, "%s holds no PEM private key without a passphrase (%s)", key_path,
             ssl_reason("no data"));
    goto out;
  }
  if (X509_check_private_key(leaf, key) != 1) {
    snprintf(why, n, "the key %s is not the private key of the certificate %s", key_path,
             cert_path);
    goto out;
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
    snprintf(why, n, "the certificate %s is not valid yet", cert_path);
    goto out;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
    snprintf(why, n, "the certificate %s has expired", cert_path);
    goto out;
  }
  if (X509_digest(leaf, EVP_sha256(), md, &mdlen) != 1 || mdlen != sizeof(md)) {
    snprintf(why, n, "cannot hash the certificate");
    rc = QRL_CRYPTO;
    goto out;
  }
  qrl_tls_free(t);
  t->leaf = leaf;
  t->key = key;
  t->chain = chain;
  leaf = NULL;
  key = NULL;
  chain = NULL;
  for (unsigned i = 0; i < mdlen; i++) snprintf(t->sha256 + 2 * i, 3, "%02x", md[i]);
  t->not_after = not_after_of(t->leaf);
  rc = QRL_OK;
out:
  if (cf) fclose(cf);
  if (kf) fclose(kf);
  X509_free(leaf);
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
  ERR_clear_error();
  return rc;
}

/* The handshake's certificate: t's current one, in place of whatever the
 * context held (of any key type). 1, or 0 to fail the handshake. */
static int cert_cb(SSL *ssl, void *arg) {
  qrl_tls *t = arg;
  if (!t->leaf) return 1; /* nothing loaded: the context's own */
  SSL_certs_clear(ssl);
  if (SSL_use_cert_and_key(ssl, t->leaf, t->key, t->chain, 1) != 1) return 0;
  t->handshakes++;
  return 1;
}

void qrl_tls_attach(qrl_tls *t, qrl_ssl_ctx *ctx) { SSL_CTX_set_cert_cb(ctx, cert_cb, t); }

void qrl_tls_free(qrl_tls *t) {
  X509_free(t->leaf);
  EVP_PKEY_free(t->key);
  sk_X509_pop_free(t->chain, X509_free);
  t->leaf = NULL;
  t->key = NULL;
  t->chain = NULL;
}
