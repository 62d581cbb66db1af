/*
 * jgw-inspect — run the inspection engine over one direction of a JMSG
 * connection and print one JSON verdict per frame (docs/inspection.md).
 *
 *   jgw-inspect --catalog FILE --local CODE --peer CODE --side lan|wan
 *               [--now MS] [FILE|-]
 *
 * Exit 0: every frame allowed; 1: a frame was denied (the output stops
 * there, as the gateway would stop forwarding); 2: usage or catalog error.
 * Nothing of a frame's fields is ever printed: only its position, type and
 * verdict.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/catalog.h"
#include "filters/inspect.h"
#include "filters/jmsg.h"

#define CHUNK (64 * 1024)

static void usage(void)
{
	fprintf(stderr,
		"usage: jgw-inspect --catalog FILE --local CODE --peer CODE --side lan|wan\n"
		"                   [--now MS] [FILE|-]\n");
	exit(2);
}

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_frame(void *arg, const struct insp_frame *f)
{
	(void)arg;
	printf("{\"frame\":%" PRIu64 ",\"offset\":%" PRIu64 ",", f->index, f->offset);
	if (f->length >= JMSG_OFF_TYPE + 2)
		printf("\"type\":\"0x%04x\",", f->type);
	else
		printf("\"type\":null,");
	if (f->allowed) {
		printf("\"verdict\":\"allow\"}\n");
		return;
	}
	printf("\"verdict\":\"deny\",\"reason\":\"%s\"", insp_reason_name(f->reason));
	if (f->reason == INSP_BAD_VALUE || f->field != 0)
		printf(",\"field\":\"0x%04x\"", f->field);
	printf("}\n");
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'c' },
		{ "local", required_argument, NULL, 'l' },
		{ "peer", required_argument, NULL, 'p' },
		{ "side", required_argument, NULL, 's' },
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *catalog = NULL, *local = NULL, *peer = NULL, *side = NULL;
	int64_t now = 0;
	bool fixed_now = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': catalog = optarg; break;
		case 'l': local = optarg; break;
		case 'p': peer = optarg; break;
		case 's': side = optarg; break;
		case 'n':
			if (!parse_i64(optarg, &now)) {
				fprintf(stderr, "jgw-inspect: --now is not a number of milliseconds: `%s'\n", optarg);
				return 2;
			}
			fixed_now = true;
			break;
		default: usage();
		}
	}
	if (!catalog || !local || !peer || !side || argc - optind > 1)
		usage();
	enum insp_dir dir;
	if (strcmp(side, "lan") == 0)
		dir = INSP_FROM_LAN;
	else if (strcmp(side, "wan") == 0)
		dir = INSP_FROM_WAN;
	else {
		fprintf(stderr, "jgw-inspect: --side is neither lan nor wan: `%s'\n", side);
		return 2;
	}
	if (!jmsg_node_valid(local)) {
		fprintf(stderr, "jgw-inspect: --local is not a valid node code: `%s'\n", local);
		return 2;
	}
	if (!jmsg_node_valid(peer)) {
		fprintf(stderr, "jgw-inspect: --peer is not a valid node code: `%s'\n", peer);
		return 2;
	}
	const char *path = argc > optind ? argv[optind] : "-";
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (in == NULL) {
		fprintf(stderr, "jgw-inspect: %s: %s\n", path, strerror(errno));
		return 2;
	}
	struct cat_catalog *cat = cat_load(catalog, NULL, NULL);
	if (cat == NULL) {
		if (in != stdin)
			fclose(in);
		return 2;
	}
	struct insp_params params = { .catalog = cat, .skew_ms = 300000, .max_outstanding = 1024 };
	memcpy(params.local, local, sizeof(jmsg_node));
	/* lan: the peer is a server of this site, the tunnel's far end is not
	 * known; wan: the peer is the tunnel peer, as its certificate says. */
	struct insp_conn *conn = insp_conn_new(&params, dir == INSP_FROM_WAN ? peer : NULL);
	if (conn == NULL) {
		fprintf(stderr, "jgw-inspect: cannot set up the inspection\n");
		cat_free(cat);
		return 2;
	}
	uint8_t *buf = malloc(CHUNK);
	bool ok = buf != NULL;
	size_t n;
	while (ok && (n = fread(buf, 1, CHUNK, in)) > 0)
		ok = insp_feed(conn, dir, buf, n, fixed_now ? now : clock_ms(), print_frame, NULL);
	int rc = 0;
	if (buf == NULL || ferror(in)) {
		fprintf(stderr, "jgw-inspect: %s: read error\n", path);
		rc = 2;
	} else if (!ok || !insp_finish(conn, dir, fixed_now ? now : clock_ms(), print_frame, NULL)) {
		rc = 1;
	}
	if (buf)
		explicit_bzero(buf, CHUNK);
	free(buf);
	insp_conn_free(conn);
	cat_free(cat);
	if (in != stdin)
		fclose(in);
	if (fflush(stdout) != 0)
		rc = 2;
	return rc;
}
