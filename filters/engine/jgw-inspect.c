/*
 * jgw-inspect — run the inspection engine over one direction of a JMSG
 * connection and print one JSON verdict per frame (docs/inspection.md).
 *
 *   jgw-inspect --catalog FILE --local CODE --side lan|wan [--peer CODE]
 *               [--now MS] [FILE|-]
 *
 * --local is the node this gateway serves, --peer the tunnel's far end:
 * with --side wan the sender of the frames (required), with --side lan
 * their receiver (optional: unknown, it is learnt from the first frame).
 *
 * Exit 0: every frame allowed; 1: a frame was denied (the output stops
 * there, as the gateway would stop forwarding); 2: usage or catalog error.
 * Nothing of a frame's fields is ever printed: only its position, type and
 * verdict.
 */
#include <errno.h>
#include <getopt.h>
#include "jgw_version.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/engine/catalog.h"
#include "filters/engine/inspect.h"
#include "filters/engine/jmsg.h"

#define CHUNK (64 * 1024)

static void usage(void)
{
	fprintf(stderr,
		"usage: jgw-inspect --catalog FILE --local CODE --side lan|wan [--peer CODE]\n"
		"                   [--now MS] [FILE|-]\n"
		"  --peer   the tunnel's far end: the sender (wan, required) or the\n"
		"           receiver (lan; without it, learnt from the first frame)\n"
		"  --now    the gateway clock, ms since 1970 (>= 0; default: the real clock)\n"
		"       jgw-inspect --version\n");
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

/*
 * --peer is the tunnel's far end on either side, never this gateway's own
 * node: with --side lan the sender is always --local, so --peer equal to it
 * (the older reading "the sender") would deny every frame; say so instead.
 */
static bool peer_consistent(enum insp_dir dir, const char *local, const char *peer)
{
	if (peer == NULL) {
		if (dir == INSP_FROM_LAN)
			return true;
		fprintf(stderr, "jgw-inspect: --side wan needs --peer (the tunnel peer, the frames' sender)\n");
		return false;
	}
	if (!node_valid(peer)) {
		fprintf(stderr, "jgw-inspect: --peer is not a valid node code: `%s'\n", peer);
		return false;
	}
	if (strcmp(peer, local) == 0) {
		fprintf(stderr, "jgw-inspect: --peer %s is --local: --peer is the tunnel's far end "
			"(with --side lan the frames' receiver; leave it out to learn it from the first "
			"frame), never this gateway's own node\n", peer);
		return false;
	}
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

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("jgw-inspect %s\n", JGW_VERSION);
		return 0;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': catalog = optarg; break;
		case 'l': local = optarg; break;
		case 'p': peer = optarg; break;
		case 's': side = optarg; break;
		case 'n':
			/* Before 1970 is no gateway clock; the engine copes with any
			 * value, but a negative one here is a mistake to report. */
			if (!parse_i64(optarg, &now) || now < 0) {
				fprintf(stderr, "jgw-inspect: --now is not a number of milliseconds since 1970: `%s'\n",
					optarg);
				return 2;
			}
			fixed_now = true;
			break;
		default: usage();
		}
	}
	if (!catalog || !local || !side || argc - optind > 1)
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
	if (!node_valid(local)) {
		fprintf(stderr, "jgw-inspect: --local is not a valid node code: `%s'\n", local);
		return 2;
	}
	if (!peer_consistent(dir, local, peer))
		return 2;
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
	memcpy(params.local, local, sizeof(node_code));
	/* wan: the peer as its certificate says; lan: the tunnel's far end once
	 * it is up (NULL: as in egress before the tunnel, the first receiver). */
	struct insp_conn *conn = insp_conn_new(&params, peer);
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
