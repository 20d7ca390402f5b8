/*
 * jose.h - the JOSE pieces an OpenID Connect provider signs and checks with:
 * ES256 compact JWS (RFC 7515, RFC 7518 3.4: raw R||S signatures), the
 * public JWK of a P-256 key (RFC 7517/7518 6.2) and its RFC 7638 thumbprint,
 * used as the key id.
 *
 * Keys are crypto.h's: the private scalar (32 bytes) and the uncompressed
 * public point (65 bytes). Verification is strict: the header must be a JSON
 * object whose "alg" is exactly "ES256" (never "none", never another
 * algorithm, whatever the key), with no "crit"; the three parts base64url
 * without padding; the signature 64 bytes. Strings this module returns are
 * malloc'd and the caller's. Depends on crypto.h, b64.h and cJSON.
 */
#ifndef QRLOGIN_JOSE_H
#define QRLOGIN_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include "helpers/crypto.h"
#include "qrlogin/error.h"

/* A key id: the base64url SHA-256 thumbprint, 43 characters. */
#define QRL_JWK_KID_LEN 43

/* The RFC 7638 thumbprint of the P-256 public point pub: base64url of
 * SHA-256 over {"crv":"P-256","kty":"EC","x":"...","y":"..."}. QRL_OK,
 * QRL_BAD_DEVICE_KEY (not a point on the curve) or QRL_CRYPTO. */
qrl_err qrl_jwk_thumbprint(const uint8_t pub[65], char kid[QRL_JWK_KID_LEN + 1]);

/* The public JWK of pub as a JSON object text, with its thumbprint as "kid",
 * "use":"sig" and "alg":"ES256" (malloc'd into *out). QRL_OK,
 * QRL_BAD_DEVICE_KEY, QRL_CRYPTO or QRL_NOMEM. */
qrl_err qrl_jwk_public_json(const uint8_t pub[65], char **out);

/* Signs payload (len bytes, the JWT claims' JSON) with priv: a compact JWS
 * "header.payload.signature" whose header is {"alg":"ES256","kid":kid} plus
 * "typ":typ when typ is not NULL (e.g. "JWT", "logout+jwt"). *out is
 * malloc'd. QRL_OK, QRL_CRYPTO or QRL_NOMEM. */
qrl_err qrl_jws_sign(const uint8_t priv[QRL_PRIVKEY_BYTES], const char *kid, const char *typ,
                     const char *payload, size_t len, char **out);

/* Reads the header of compact JWS jws (len bytes) without checking anything
 * but its form: its "kid" (NULL if none) into kid (QRL_JWK_KID_LEN + 1 bytes
 * at least is enough for ours; longer ones are refused), so a verifier can
 * pick the key. QRL_OK or QRL_BAD_SIGNATURE (malformed). */
qrl_err qrl_jws_kid(const char *jws, size_t len, char *kid, size_t kidcap, int *has_kid);

/* Verifies compact JWS jws (len bytes) with the public point pub and, when it
 * holds, gives its payload (NUL-terminated, malloc'd) in *payload and its
 * length in *plen. QRL_OK; QRL_BAD_SIGNATURE (malformed, another "alg", a
 * "crit" header, or a signature that does not verify - *payload NULL);
 * QRL_BAD_DEVICE_KEY (pub is no P-256 point); QRL_NOMEM. */
qrl_err qrl_jws_verify(const uint8_t pub[65], const char *jws, size_t len, char **payload,
                       size_t *plen);

#endif /* QRLOGIN_JOSE_H */
