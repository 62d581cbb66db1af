/*
 * selftest.h — known-answer tests of the cryptography jgwd relies on, run
 * once before the daemon starts (FIPS 140-style power-up self-test).
 */
#ifndef JGW_SELFTEST_H
#define JGW_SELFTEST_H

#include <stddef.h>

/*
 * selftest_run() runs, through OpenSSL's EVP interfaces (the same providers
 * the TLS layer and the audit chain use):
 *   sha256       SHA-256 of "abc" (FIPS 180-2) and of the empty string
 *   hmac-sha256  EVP_MAC "HMAC" with digest SHA256, as the audit chain
 *                calls it, on RFC 4231 test cases 1 and 2
 *   aes-gcm      AES-128-GCM and AES-256-GCM encryption with AAD against
 *                the GCM specification's test cases 4 and 16 (C and tag),
 *                decryption back, and a flipped tag that must be refused
 *   ed25519      RFC 8032 test 1: the public key from the private key, the
 *                signature, its verification, and a changed message that
 *                must not verify
 *   ecdsa-p256   a fixed P-256 key: a fixed SHA-256 signature verifies, a
 *                fresh sign/verify round trip, a changed message refused
 * It returns 0 when every answer is right, otherwise -1 with the name of
 * the first test that failed and what went wrong in err (always
 * NUL-terminated when errlen > 0).
 */
int selftest_run(char *err, size_t errlen);

#endif
