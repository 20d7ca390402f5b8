/*
 * tls.h - the certificate qrlogind serves, replaceable while it runs.
 *
 * qrl_tls holds a certificate chain and its private key, loaded from PEM
 * files and checked (the key is the certificate's, the certificate is valid
 * now, the key file is its owner's alone). Attached to an OpenSSL server
 * context, it hands its current certificate and key to every new handshake
 * (SSL_CTX_set_cert_cb): a reload (SIGHUP) changes what the next connection
 * gets, while a connection made earlier keeps the certificate it was made
 * with. A certificate that fails a check is refused and the one in use kept.
 *
 * Not thread-safe: load and handshakes on one thread (the event loop).
 * Depends on libc and OpenSSL.
 */
#ifndef QRLOGIN_TLS_H
#define QRLOGIN_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

/* OpenSSL's types, by their struct names: SSL_CTX, X509, EVP_PKEY, STACK_OF(X509). */
typedef struct ssl_ctx_st qrl_ssl_ctx;
struct x509_st;
struct evp_pkey_st;
struct stack_st_X509;

typedef struct qrl_tls {
  struct x509_st *leaf;        /* owned: the certificate served; NULL before a load */
  struct evp_pkey_st *key;     /* owned: its private key */
  struct stack_st_X509 *chain; /* owned: the intermediates after it, may be empty */
  char sha256[65];  /* the certificate's SHA-256 fingerprint, hex (for logs) */
  int64_t not_after; /* unix time the certificate expires */
  uint64_t handshakes; /* certificates handed to handshakes */
} qrl_tls;

/* Loads the chain at cert_path (leaf first, then intermediates) and the key
 * at key_path, checks them, and on success makes them t's certificate (the
 * old one freed). On failure t is unchanged and why (n bytes) says what is
 * wrong: QRL_IO (a file cannot be read), QRL_INVAL (not PEM, the key is not
 * the certificate's, not valid now, the key readable by others). */
qrl_err qrl_tls_load(qrl_tls *t, const char *cert_path, const char *key_path, char *why,
                     size_t n);

/* Every handshake on ctx from now on gets t's certificate (t must outlive
 * ctx's use). */
void qrl_tls_attach(qrl_tls *t, qrl_ssl_ctx *ctx);

/* Frees t's certificate and key. */
void qrl_tls_free(qrl_tls *t);

#endif /* QRLOGIN_TLS_H */
