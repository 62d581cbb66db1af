/*
 * test_selftest.c — gateway/selftest.c: the known answers pass on this
 * OpenSSL, and each kind of wrong answer is caught and named. Faults are
 * injected by wrapping the EVP calls selftest.o makes (-Wl,--wrap, see
 * tests/selftest/module.mk): a digest, mac, ciphertext, tag or signature
 * with one bit flipped, a verifier that says yes to everything, a
 * decryption that accepts any tag, a key that does not load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/daemon/selftest.h"

enum fault {
	F_NONE, F_DIGEST, F_MAC, F_CIPHERTEXT, F_TAG, F_ANY_TAG, F_SIGN, F_VERIFY_YES,
	F_PUBKEY, F_ECKEY, F_MAC_FETCH,
};
static enum fault fault;

/* Prototypes of the wrappers (-Wmissing-prototypes) and the real calls. */
int __real_EVP_DigestFinal_ex(EVP_MD_CTX *, unsigned char *, unsigned int *);
int __wrap_EVP_DigestFinal_ex(EVP_MD_CTX *, unsigned char *, unsigned int *);
int __real_EVP_MAC_final(EVP_MAC_CTX *, unsigned char *, size_t *, size_t);
int __wrap_EVP_MAC_final(EVP_MAC_CTX *, unsigned char *, size_t *, size_t);
EVP_MAC *__real_EVP_MAC_fetch(OSSL_LIB_CTX *, const char *, const char *);
EVP_MAC *__wrap_EVP_MAC_fetch(OSSL_LIB_CTX *, const char *, const char *);
int __real_EVP_EncryptUpdate(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
int __wrap_EVP_EncryptUpdate(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
int __real_EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *, int, int, void *);
int __wrap_EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *, int, int, void *);
int __real_EVP_DecryptFinal_ex(EVP_CIPHER_CTX *, unsigned char *, int *);
int __wrap_EVP_DecryptFinal_ex(EVP_CIPHER_CTX *, unsigned char *, int *);
int __real_EVP_DigestSign(EVP_MD_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
int __wrap_EVP_DigestSign(EVP_MD_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
int __real_EVP_DigestVerify(EVP_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t);
int __wrap_EVP_DigestVerify(EVP_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t);
int __real_EVP_PKEY_get_raw_public_key(const EVP_PKEY *, unsigned char *, size_t *);
int __wrap_EVP_PKEY_get_raw_public_key(const EVP_PKEY *, unsigned char *, size_t *);
EVP_PKEY *__real_d2i_AutoPrivateKey(EVP_PKEY **, const unsigned char **, long);
EVP_PKEY *__wrap_d2i_AutoPrivateKey(EVP_PKEY **, const unsigned char **, long);

int __wrap_EVP_DigestFinal_ex(EVP_MD_CTX *c, unsigned char *md, unsigned int *n)
{
	int rc = __real_EVP_DigestFinal_ex(c, md, n);

	if (fault == F_DIGEST && rc == 1)
		md[31] ^= 0x80;
	return rc;
}

int __wrap_EVP_MAC_final(EVP_MAC_CTX *c, unsigned char *out, size_t *n, size_t cap)
{
	int rc = __real_EVP_MAC_final(c, out, n, cap);

	if (fault == F_MAC && rc == 1 && out)
		out[0] ^= 0x01;
	return rc;
}

EVP_MAC *__wrap_EVP_MAC_fetch(OSSL_LIB_CTX *lib, const char *alg, const char *props)
{
	return fault == F_MAC_FETCH ? NULL : __real_EVP_MAC_fetch(lib, alg, props);
}

int __wrap_EVP_EncryptUpdate(EVP_CIPHER_CTX *c, unsigned char *out, int *n,
			     const unsigned char *in, int inl)
{
	int rc = __real_EVP_EncryptUpdate(c, out, n, in, inl);

	if (fault == F_CIPHERTEXT && rc == 1 && out && *n > 0)
		out[*n - 1] ^= 0x04;
	return rc;
}

int __wrap_EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *c, int type, int arg, void *ptr)
{
	int rc = __real_EVP_CIPHER_CTX_ctrl(c, type, arg, ptr);

	if (fault == F_TAG && type == EVP_CTRL_GCM_GET_TAG && rc == 1)
		((unsigned char *)ptr)[15] ^= 0x10;
	return rc;
}

int __wrap_EVP_DecryptFinal_ex(EVP_CIPHER_CTX *c, unsigned char *out, int *n)
{
	int rc = __real_EVP_DecryptFinal_ex(c, out, n);

	return fault == F_ANY_TAG ? 1 : rc;
}

int __wrap_EVP_DigestSign(EVP_MD_CTX *c, unsigned char *sig, size_t *siglen,
			  const unsigned char *msg, size_t len)
{
	int rc = __real_EVP_DigestSign(c, sig, siglen, msg, len);

	if (fault == F_SIGN && rc == 1 && sig)
		sig[0] ^= 0x01;
	return rc;
}

int __wrap_EVP_DigestVerify(EVP_MD_CTX *c, const unsigned char *sig, size_t siglen,
			    const unsigned char *msg, size_t len)
{
	int rc = __real_EVP_DigestVerify(c, sig, siglen, msg, len);

	return fault == F_VERIFY_YES ? 1 : rc;
}

int __wrap_EVP_PKEY_get_raw_public_key(const EVP_PKEY *pk, unsigned char *pub, size_t *len)
{
	int rc = __real_EVP_PKEY_get_raw_public_key(pk, pub, len);

	if (fault == F_PUBKEY && rc == 1 && pub)
		pub[5] ^= 0x20;
	return rc;
}

EVP_PKEY *__wrap_d2i_AutoPrivateKey(EVP_PKEY **a, const unsigned char **pp, long len)
{
	return fault == F_ECKEY ? NULL : __real_d2i_AutoPrivateKey(a, pp, len);
}

static int reset(void **state)
{
	(void)state;
	fault = F_NONE;
	return 0;
}

static void passes_on_this_openssl(void **state)
{
	char err[256] = "untouched";

	(void)state;
	assert_int_equal(selftest_run(err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* Twice in a row: nothing is left behind that changes the answer. */
	assert_int_equal(selftest_run(err, sizeof(err)), 0);
	/* No room for a message is allowed. */
	assert_int_equal(selftest_run(NULL, 0), 0);
}

/* The fault, and the start of the message that must name it. */
static void expect_failure(enum fault f, const char *prefix, const char *words)
{
	char err[256] = "";

	fault = f;
	assert_int_equal(selftest_run(err, sizeof(err)), -1);
	fault = F_NONE;
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, words))
		fail_msg("fault %d: message '%s' does not start with '%s' and name '%s'",
			 (int)f, err, prefix, words);
}

static void wrong_digest(void **state)
{
	(void)state;
	expect_failure(F_DIGEST, "sha256: ", "\"abc\" is wrong");
}

static void wrong_mac(void **state)
{
	(void)state;
	expect_failure(F_MAC, "hmac-sha256: ", "RFC 4231 test case 1 gives the wrong mac");
}

static void no_hmac(void **state)
{
	(void)state;
	expect_failure(F_MAC_FETCH, "hmac-sha256: ", "could not be computed");
}

static void wrong_ciphertext(void **state)
{
	(void)state;
	expect_failure(F_CIPHERTEXT, "aes-gcm: ", "AES-128-GCM ciphertext is wrong");
}

static void wrong_tag(void **state)
{
	(void)state;
	expect_failure(F_TAG, "aes-gcm: ", "AES-128-GCM tag is wrong");
}

static void tag_not_checked(void **state)
{
	(void)state;
	expect_failure(F_ANY_TAG, "aes-gcm: ", "accepts a changed tag");
}

static void wrong_signature(void **state)
{
	(void)state;
	expect_failure(F_SIGN, "ed25519: ", "the signature is wrong");
}

static void verifier_says_yes(void **state)
{
	(void)state;
	expect_failure(F_VERIFY_YES, "ed25519: ", "verifies for another message");
}

static void wrong_public_key(void **state)
{
	(void)state;
	expect_failure(F_PUBKEY, "ed25519: ", "public key");
}

static void no_ecdsa_key(void **state)
{
	(void)state;
	expect_failure(F_ECKEY, "ecdsa-p256: ", "could not be loaded");
}

static void short_buffer_terminated(void **state)
{
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	fault = F_DIGEST;
	assert_int_equal(selftest_run(err, sizeof(err)), -1);
	fault = F_NONE;
	assert_int_equal(strnlen(err, sizeof(err)), sizeof(err) - 1);
	assert_memory_equal(err, "sha256:", 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(passes_on_this_openssl, reset),
		cmocka_unit_test_setup(wrong_digest, reset),
		cmocka_unit_test_setup(wrong_mac, reset),
		cmocka_unit_test_setup(no_hmac, reset),
		cmocka_unit_test_setup(wrong_ciphertext, reset),
		cmocka_unit_test_setup(wrong_tag, reset),
		cmocka_unit_test_setup(tag_not_checked, reset),
		cmocka_unit_test_setup(wrong_signature, reset),
		cmocka_unit_test_setup(verifier_says_yes, reset),
		cmocka_unit_test_setup(wrong_public_key, reset),
		cmocka_unit_test_setup(no_ecdsa_key, reset),
		cmocka_unit_test_setup(short_buffer_terminated, reset),
	};

	return cmocka_run_group_tests_name("selftest", tests, NULL, NULL);
}
