/*
 * fuzz_sshlog — libFuzzer on the parser of sshd's log messages
 * (gateway/sessions/sshlog.c): the input is one message, as the journal or
 * `sshd -e` would hand it over, client-chosen user names included.
 *
 * Whatever the bytes, an event carries an account name or "-", never other
 * text; an address that inet_pton takes back in the same family; and what
 * it says is the same when the message is parsed again.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/sessions/sshlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshlog_event ev, again;
	enum sshlog_result r;
	unsigned char bin[16];

	r = sshlog_parse((const char *)data, size, &ev);
	if (r != SSHLOG_EVENT)
		return 0;
	if (strcmp(ev.user, "-") != 0 && !sshlog_account_name(ev.user, strlen(ev.user)))
		abort();
	if (ev.kind != SSHLOG_OPEN && ev.kind != SSHLOG_CLOSE && ev.kind != SSHLOG_FAILED)
		abort();
	if (ev.have_addr != !ev.pam)
		abort();
	if (ev.have_addr && inet_pton(strchr(ev.addr, ':') ? AF_INET6 : AF_INET, ev.addr, bin) != 1)
		abort();
	if (sshlog_parse((const char *)data, size, &again) != r || memcmp(&ev, &again, sizeof(ev)))
		abort();
	return 0;
}
