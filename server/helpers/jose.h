/*
 * jose.h - the JOSE pieces an OpenID Connect provider signs and checks with:
 * ES256 compact JWS (RFC 7515, RFC 7518 3.4: raw R||S signatures), the
 * public JWK of a P-256 key (RFC 7517/7518 6.2) and its RFC 7638 thumbprint,
 * used as the key id; and RS256 (RFC 7518 3.3: RSASSA-PKCS1-v1_5 with
 * SHA-256) with RSA keys of QRL_RSA_MIN_BITS..QRL_RSA_MAX_BITS, their public
 * JWK (kty RSA, n, e) and thumbprint. All signing goes through OpenSSL 3 EVP.
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

/* ---- RS256 and signing with a stored key ---------------------------------- */

#define QRL_RSA_MIN_BITS 2048
#define QRL_RSA_MAX_BITS 4096
/* The DER SubjectPublicKeyInfo of an RSA key of QRL_RSA_MAX_BITS fits. */
#define QRL_JWK_PUB_MAX 600

/* Makes an RSA key of bits (QRL_RSA_MIN_BITS..QRL_RSA_MAX_BITS): its private
 * key as PKCS#8 DER into *der (malloc'd; the caller cleanses and frees it)
 * and its public key as DER SubjectPublicKeyInfo into spki (QRL_JWK_PUB_MAX
 * bytes), its length in *spkilen. QRL_OK, QRL_INVAL (bits), QRL_CRYPTO or
 * QRL_NOMEM. Slow (tens to hundreds of ms): never on the event loop. */
qrl_err qrl_rsa_keygen(int bits, uint8_t **der, size_t *derlen, uint8_t spki[QRL_JWK_PUB_MAX],
                       size_t *spkilen);

/* The public key (DER SubjectPublicKeyInfo, at most QRL_JWK_PUB_MAX bytes)
 * of private key der (PKCS#8 or traditional DER, EC or RSA) into spki, for
 * a check that a stored pair belongs together. QRL_OK or QRL_CRYPTO. */
qrl_err qrl_priv_der_public(const uint8_t *der, size_t derlen, uint8_t spki[QRL_JWK_PUB_MAX],
                            size_t *spkilen);

/* The RFC 7638 thumbprint of RSA public key spki (DER SubjectPublicKeyInfo):
 * base64url SHA-256 of {"e":"...","kty":"RSA","n":"..."}. QRL_OK or
 * QRL_CRYPTO (not an RSA key, or one of another size than allowed). */
qrl_err qrl_jwk_rsa_thumbprint(const uint8_t *spki, size_t len, char kid[QRL_JWK_KID_LEN + 1]);

/* The public JWK of RSA key spki as a JSON object text (malloc'd into
 * *out): kty RSA, n, e, its thumbprint as kid, use sig, alg RS256. QRL_OK,
 * QRL_CRYPTO or QRL_NOMEM. */
qrl_err qrl_jwk_rsa_public_json(const uint8_t *spki, size_t len, char **out);

/* Checks the base64url members n and e of an RSA public JWK: n of
 * QRL_RSA_MIN_BITS..QRL_RSA_MAX_BITS bits (no leading zero byte), e odd,
 * at least 3 and at most 4 bytes. 1 if they make a key we accept, else 0. */
int qrl_jwk_rsa_ok(const char *n, const char *e);

/* The one signing entry point for stored keys: signs payload (len bytes)
 * with alg "ES256" or "RS256" and private key der (PKCS#8 DER of a P-256 or
 * RSA key; the key must suit alg): a compact JWS whose header is
 * {"alg":alg,"kid":kid} plus "typ":typ when not NULL. *out is malloc'd.
 * QRL_OK, QRL_INVAL (an alg we do not sign with, or a key of the wrong
 * type), QRL_CRYPTO or QRL_NOMEM. */
qrl_err qrl_jws_sign_der(const char *alg, const uint8_t *der, size_t derlen, const char *kid,
                         const char *typ, const char *payload, size_t len, char **out);

/* Verifies compact JWS jws (len bytes) with the RSA public key of JWK
 * members n and e (base64url; qrl_jwk_rsa_ok must hold): "alg" exactly
 * "RS256" (never "none", HS256 or ES256), no "crit", the signature as long
 * as the modulus. On success the payload (NUL-terminated, malloc'd) in
 * *payload and its length in *plen. QRL_OK; QRL_BAD_SIGNATURE (malformed,
 * another alg, a signature that does not verify); QRL_BAD_DEVICE_KEY (n, e
 * are no key we accept); QRL_NOMEM. */
qrl_err qrl_jws_verify_rsa(const char *n, const char *e, const char *jws, size_t len,
                           char **payload, size_t *plen);

#endif /* QRLOGIN_JOSE_H */
