# tests/selftest/ — the start-up crypto self-test (gateway/daemon/selftest.c):
#   check-selftest   cmocka tests (tests/unit/test_selftest.c): the known
#                    answers pass, and every kind of wrong answer, injected by
#                    wrapping the EVP calls selftest.o makes, is refused and
#                    named. The test links selftest.o alone, so it does not
#                    depend on how jgwd is assembled.
CHECKS += check-selftest
DEBS   += libssl-dev libcmocka-dev

SELFTEST_WRAP = $(foreach f,EVP_DigestFinal_ex EVP_MAC_final EVP_MAC_fetch EVP_EncryptUpdate \
	EVP_CIPHER_CTX_ctrl EVP_DecryptFinal_ex EVP_DigestSign EVP_DigestVerify \
	EVP_PKEY_get_raw_public_key d2i_AutoPrivateKey,-Wl,--wrap=$(f))

$(B)/tests/test_selftest: $(B)/tests/unit/test_selftest.o $(B)/gateway/daemon/selftest.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(SELFTEST_WRAP) -o $@ $^ -lcrypto -lcmocka

check-selftest: $(B)/tests/test_selftest
	tests/lib/run-cmocka.sh $(RES)/selftest.res selftest $^

.PHONY: check-selftest
