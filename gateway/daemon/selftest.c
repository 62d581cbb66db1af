/*
 * selftest.c — known-answer tests of the cryptography jgwd relies on
 * (gateway/selftest.h). Every vector is a published one (FIPS 180-2,
 * RFC 4231, the GCM specification, RFC 8032) except the P-256 key and
 * signature, which were made once with the openssl command and are checked
 * here by verification, not by equality (ECDSA signatures are randomised).
 * Everything goes through EVP, so the test covers the provider that the TLS
 * layer and the audit chain fetch at run time.
 */
#include "gateway/daemon/selftest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

struct st {
	char *err;
	size_t errlen;
};

static int fail(struct st *st, const char *test, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct st *st, const char *test, const char *fmt, ...)
{
	char what[160];
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (st->errlen > 0) {
		if (e)
			snprintf(st->err, st->errlen, "%s: %s (%s)", test, what,
				 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "openssl error");
		else
			snprintf(st->err, st->errlen, "%s: %s", test, what);
	}
	ERR_clear_error();
	return -1;
}

static int unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex) / 2, i;

	if (n > cap)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)n;
}

/* ---- SHA-256 ---- */

static int sha256_kat(struct st *st, const char *msg, const char *want_hex)
{
	unsigned char md[EVP_MAX_MD_SIZE], want[32];
	unsigned int len = 0;
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = sha && ctx && EVP_DigestInit_ex(ctx, sha, NULL) == 1 &&
		 EVP_DigestUpdate(ctx, msg, strlen(msg)) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &len) == 1;

	EVP_MD_CTX_free(ctx);
	EVP_MD_free(sha);
	if (!ok)
		return fail(st, "sha256", "digest of \"%s\" could not be computed", msg);
	unhex(want_hex, want, sizeof(want));
	if (len != 32 || CRYPTO_memcmp(md, want, 32) != 0)
		return fail(st, "sha256", "digest of \"%s\" is wrong", msg);
	return 0;
}

/* ---- HMAC-SHA256, called as gateway/audit_chain.c calls it ---- */

static int hmac_kat(struct st *st, const char *name, const unsigned char *key, size_t keylen,
		    const char *msg, const char *want_hex)
{
	unsigned char out[EVP_MAX_MD_SIZE], want[32];
	size_t n = 0;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	int ok = ctx && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
		 EVP_MAC_update(ctx, (const unsigned char *)msg, strlen(msg)) == 1 &&
		 EVP_MAC_final(ctx, out, &n, sizeof(out)) == 1;

	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (!ok)
		return fail(st, "hmac-sha256", "%s could not be computed", name);
	unhex(want_hex, want, sizeof(want));
	if (n != 32 || CRYPTO_memcmp(out, want, 32) != 0)
		return fail(st, "hmac-sha256", "%s gives the wrong mac", name);
	return 0;
}

/* ---- AES-GCM ---- */

#define GCM_P "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_A "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_IV "cafebabefacedbaddecaf888"

/* Decrypts c with tag; 1 authentic (plaintext in p), 0 refused, -1 error. */
static int gcm_open(const char *cipher, const unsigned char *key, const unsigned char *iv,
		    const unsigned char *aad, int aadlen, const unsigned char *c, int clen,
		    unsigned char *tag, unsigned char *p)
{
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, cipher, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, rc = -1;

	if (ciph && ctx && EVP_DecryptInit_ex2(ctx, ciph, key, iv, NULL) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, aadlen) == 1 &&
	    EVP_DecryptUpdate(ctx, p, &n, c, clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1)
		rc = EVP_DecryptFinal_ex(ctx, p + n, &m) == 1 && n + m == clen ? 1 : 0;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
	return rc;
}

static int gcm_kat(struct st *st, const char *cipher, const char *key_hex,
		   const char *c_hex, const char *tag_hex)
{
	unsigned char key[32], iv[12], aad[20], p[60], c[60], want_c[60], tag[16], want_tag[16];
	int keylen = unhex(key_hex, key, sizeof(key)), n = 0, m = 0, ok;
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, cipher, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	unhex(GCM_IV, iv, sizeof(iv));
	unhex(GCM_A, aad, sizeof(aad));
	unhex(GCM_P, p, sizeof(p));
	unhex(c_hex, want_c, sizeof(want_c));
	unhex(tag_hex, want_tag, sizeof(want_tag));
	ok = ciph && ctx && EVP_CIPHER_get_key_length(ciph) == keylen &&
	     EVP_EncryptInit_ex2(ctx, ciph, key, iv, NULL) == 1 &&
	     EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) == 1 &&
	     EVP_EncryptUpdate(ctx, c, &n, p, sizeof(p)) == 1 &&
	     EVP_EncryptFinal_ex(ctx, c + n, &m) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
	if (!ok)
		return fail(st, "aes-gcm", "%s encryption could not be done", cipher);
	if (n + m != (int)sizeof(p) || CRYPTO_memcmp(c, want_c, sizeof(c)) != 0)
		return fail(st, "aes-gcm", "%s ciphertext is wrong", cipher);
	if (CRYPTO_memcmp(tag, want_tag, sizeof(tag)) != 0)
		return fail(st, "aes-gcm", "%s tag is wrong", cipher);

	memset(p, 0, sizeof(p));
	ok = gcm_open(cipher, key, iv, aad, sizeof(aad), want_c, sizeof(want_c), want_tag, p);
	if (ok != 1)
		return fail(st, "aes-gcm", "%s refuses its own test vector", cipher);
	unhex(GCM_P, c, sizeof(c));
	if (CRYPTO_memcmp(p, c, sizeof(p)) != 0)
		return fail(st, "aes-gcm", "%s decrypts to the wrong plaintext", cipher);
	want_tag[0] ^= 0x01;
	ok = gcm_open(cipher, key, iv, aad, sizeof(aad), want_c, sizeof(want_c), want_tag, p);
	if (ok != 0)
		return fail(st, "aes-gcm", "%s accepts a changed tag", cipher);
	return 0;
}

/* ---- signatures ---- */

/* 1 verifies, 0 does not, -1 error. md NULL: a one-shot (EdDSA) scheme. */
static int verify(EVP_PKEY *pk, const char *md, const unsigned char *sig, size_t siglen,
		  const unsigned char *msg, size_t msglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;

	if (ctx && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pk, NULL) == 1)
		rc = EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1 ? 1 : 0;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

static int sign(EVP_PKEY *pk, const char *md, unsigned char *sig, size_t *siglen,
		const unsigned char *msg, size_t msglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pk, NULL) == 1 &&
		 EVP_DigestSign(ctx, sig, siglen, msg, msglen) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int ed25519_kat(struct st *st)
{
	/* RFC 8032 section 7.1, TEST 1 (the empty message). */
	unsigned char priv[32], pub[32], want_pub[32], sig[64], want_sig[64];
	size_t publen = sizeof(pub), siglen = sizeof(sig);
	EVP_PKEY *pk;
	int rc = -1;

	unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", priv, 32);
	unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", want_pub, 32);
	unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", want_sig, 64);
	pk = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, priv, sizeof(priv));
	if (!pk)
		return fail(st, "ed25519", "the private key could not be loaded");
	if (EVP_PKEY_get_raw_public_key(pk, pub, &publen) != 1 || publen != 32 ||
	    CRYPTO_memcmp(pub, want_pub, 32) != 0)
		fail(st, "ed25519", "the public key derived from the private key is wrong");
	else if (sign(pk, NULL, sig, &siglen, (const unsigned char *)"", 0) < 0)
		fail(st, "ed25519", "signing failed");
	else if (siglen != 64 || CRYPTO_memcmp(sig, want_sig, 64) != 0)
		fail(st, "ed25519", "the signature is wrong");
	else if (verify(pk, NULL, want_sig, 64, (const unsigned char *)"", 0) != 1)
		fail(st, "ed25519", "the test vector's signature does not verify");
	else if (verify(pk, NULL, want_sig, 64, (const unsigned char *)"x", 1) != 0)
		fail(st, "ed25519", "a signature verifies for another message");
	else
		rc = 0;
	OPENSSL_cleanse(priv, sizeof(priv));
	EVP_PKEY_free(pk);
	return rc;
}

/* A P-256 key (SEC1 DER) and its SHA-256 signature of ECDSA_MSG, made once
 * with openssl ecparam / openssl dgst -sha256 -sign: test data, used nowhere
 * else. */
static const unsigned char ec_key_der[121] = {
	0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20, 0x66, 0xba, 0x13, 0x90, 0x18,
	0xe6, 0xde, 0xa9, 0xc1, 0x0e, 0x8a, 0x32, 0x3e, 0x4d, 0xbd, 0x8d, 0xca,
	0xa7, 0xfe, 0xf0, 0xf9, 0x60, 0x8d, 0xfc, 0x2a, 0x54, 0x46, 0xd2, 0x36,
	0x58, 0x37, 0x60, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x03, 0x01, 0x07, 0xa1, 0x44, 0x03, 0x42, 0x00, 0x04, 0xeb, 0xa3, 0x39,
	0x8b, 0xde, 0x8f, 0x2a, 0x0f, 0x9b, 0x4e, 0xc1, 0x50, 0x32, 0xcc, 0x1a,
	0x6e, 0xb8, 0x33, 0x70, 0xad, 0xf8, 0xc4, 0xa9, 0x60, 0x52, 0x84, 0xb5,
	0xc0, 0xb4, 0x8d, 0xed, 0x47, 0x77, 0x45, 0xf9, 0x47, 0xb1, 0xa7, 0x26,
	0xa6, 0x61, 0xf2, 0xf5, 0xbf, 0xbe, 0x96, 0xb6, 0x27, 0x6d, 0x8b, 0x9b,
	0x34, 0xc7, 0xf8, 0x1c, 0x3b, 0x6d, 0x99, 0x42, 0x61, 0x3f, 0x57, 0xa0,
	0x16,
};
static const unsigned char ec_sig_der[72] = {
	0x30, 0x46, 0x02, 0x21, 0x00, 0xaf, 0x16, 0xbe, 0x10, 0x0f, 0x9c, 0x0d,
	0x03, 0x38, 0xff, 0xf9, 0x8d, 0xa3, 0xe7, 0xc6, 0x4a, 0xab, 0xb2, 0x77,
	0x42, 0x33, 0x58, 0xab, 0x2f, 0xc6, 0xc7, 0x3f, 0xb9, 0x9b, 0x69, 0xd6,
	0x4b, 0x02, 0x21, 0x00, 0xec, 0x62, 0x7d, 0xdb, 0x87, 0xf8, 0x95, 0x82,
	0xbd, 0xb7, 0xb8, 0x40, 0x9f, 0x31, 0xa4, 0x41, 0xf1, 0x92, 0x74, 0x9a,
	0x69, 0x7a, 0x89, 0xd7, 0x07, 0xff, 0xf3, 0x0d, 0xf9, 0x29, 0x21, 0x8b,
};
#define ECDSA_MSG "jgw selftest ecdsa p-256"

static int ecdsa_kat(struct st *st)
{
	const unsigned char *p = ec_key_der;
	const unsigned char *msg = (const unsigned char *)ECDSA_MSG;
	unsigned char sig[128];
	size_t siglen = sizeof(sig), msglen = strlen(ECDSA_MSG);
	EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, sizeof(ec_key_der));
	int rc = -1;

	if (!pk || !EVP_PKEY_is_a(pk, "EC"))
		fail(st, "ecdsa-p256", "the fixed key could not be loaded");
	else if (verify(pk, "SHA256", ec_sig_der, sizeof(ec_sig_der), msg, msglen) != 1)
		fail(st, "ecdsa-p256", "the fixed signature does not verify");
	else if (verify(pk, "SHA256", ec_sig_der, sizeof(ec_sig_der), msg, msglen - 1) != 0)
		fail(st, "ecdsa-p256", "the fixed signature verifies for another message");
	else if (sign(pk, "SHA256", sig, &siglen, msg, msglen) < 0)
		fail(st, "ecdsa-p256", "signing failed");
	else if (verify(pk, "SHA256", sig, siglen, msg, msglen) != 1)
		fail(st, "ecdsa-p256", "a fresh signature does not verify");
	else
		rc = 0;
	EVP_PKEY_free(pk);
	return rc;
}

int selftest_run(char *err, size_t errlen)
{
	struct st st = { err, errlen };
	static const unsigned char rfc4231_k1[20] = {
		0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
		0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	};

	if (errlen > 0)
		err[0] = '\0';
	ERR_clear_error();
	if (sha256_kat(&st, "abc",
		       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") < 0 ||
	    sha256_kat(&st, "",
		       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") < 0 ||
	    hmac_kat(&st, "RFC 4231 test case 1", rfc4231_k1, sizeof(rfc4231_k1), "Hi There",
		     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") < 0 ||
	    hmac_kat(&st, "RFC 4231 test case 2", (const unsigned char *)"Jefe", 4,
		     "what do ya want for nothing?",
		     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") < 0 ||
	    gcm_kat(&st, "AES-128-GCM", "feffe9928665731c6d6a8f9467308308",
		    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		    "5bc94fbc3221a5db94fae95ae7121a47") < 0 ||
	    gcm_kat(&st, "AES-256-GCM",
		    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		    "76fc6ece0f4e1768cddf8853bb2d551b") < 0 ||
	    ed25519_kat(&st) < 0 || ecdsa_kat(&st) < 0)
		return -1;
	return 0;
}
