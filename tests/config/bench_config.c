/*
 * bench_config.c — how long the configuration of the 機構 gateway takes to
 * load at national scale, and how fast the per-connection lookups are.
 *
 * Usage: bench_config CONFDIR   (a copy of conf/ with pki/ made by mkpki.sh)
 *
 * Replaces CONFDIR/peers/jlis/ with a synthetic directory of 47 prefectures
 * and 1,741 municipalities (valid check digits, two addresses each), one file
 * per prefecture as the example shows, then loads jlis-000000.conf.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/policy/config.h"

enum { PREFECTURES = 47, MUNICIPALITIES = 1741, LOADS = 20, LOOKUPS = 1000000 };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void node(int pp, int mmm, node_code out)
{
	snprintf(out, sizeof(node_code), "%02d%03d", pp, mmm);
	out[5] = node_check_digit((const uint8_t *)out);
	out[6] = '\0';
}

static int write_directory(const char *dir, node_code *codes)
{
	char path[1024];
	int n = 0;

	snprintf(path, sizeof(path), "rm -rf '%s/peers/jlis' && mkdir -p '%s/peers/jlis'", dir, dir);
	if (system(path) != 0)
		return -1;
	for (int pp = 1; pp <= PREFECTURES; pp++) {
		/* 1,741 municipalities spread over 47 prefectures: 37 each, 2 extra. */
		int count = MUNICIPALITIES / PREFECTURES + (pp <= MUNICIPALITIES % PREFECTURES);
		snprintf(path, sizeof(path), "%s/peers/jlis/%02d.conf", dir, pp);
		FILE *f = fopen(path, "w");
		if (f == NULL)
			return -1;
		for (int m = 0; m <= count; m++) {
			node_code code;
			node(pp, m == 0 ? 0 : 100 + m, code);
			fprintf(f, "peer %s {\n\taddress 10.%d.%d.%d;\n\taddress fd00:77::%x:%x;\n}\n",
				code, 100 + pp, m / 250, m % 250 + 1, pp, m);
			memcpy(codes[n++], code, sizeof(node_code));
		}
		fclose(f);
	}
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
	static node_code codes[PREFECTURES + MUNICIPALITIES + PREFECTURES];
	char path[1024];
	double t[LOADS], t0;
	struct jgw_config *cfg = NULL;
	struct nft_policy pol;
	size_t hits = 0;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_config CONFDIR\n");
		return 2;
	}
	if ((n = write_directory(argv[1], codes)) < 0) {
		perror("bench_config: writing the directory");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/jlis-000000.conf", argv[1]);
	for (int i = 0; i < LOADS; i++) {
		t0 = now_ms();
		cfg = cfg_load(path, quiet, NULL);
		t[i] = now_ms() - t0;
		if (cfg == NULL)
			return 1;
		if (i + 1 < LOADS)
			cfg_free(cfg);
	}
	qsort(t, LOADS, sizeof(t[0]), cmp_double);
	printf("config: jlis, %zu peers in %d files: cfg_load median %.2f ms, max %.2f ms (%d loads)\n",
	       cfg->n_peers, PREFECTURES, t[LOADS / 2], t[LOADS - 1], LOADS);

	t0 = now_ms();
	for (int i = 0; i < LOOKUPS; i++)
		hits += cfg_peer_allowed(cfg, codes[(unsigned)i * 2654435761u % (unsigned)n], NULL);
	double per = (now_ms() - t0) * 1e6 / LOOKUPS;
	printf("config: cfg_peer_allowed (bsearch + role rule): %.0f ns per call (%zu/%d allowed)\n",
	       per, hits, LOOKUPS);
	cfg_nft_policy(cfg, &pol);
	printf("config: nft policy: %zu peer prefixes, %zu output destinations\n", pol.n_peers, pol.n_out);
	cfg_free(cfg);
	return hits == LOOKUPS ? 0 : 1;
}
