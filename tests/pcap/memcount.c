/*
 * memcount.c — an LD_PRELOAD library for the replay memory test: it counts
 * the heap a program really holds, independently of what the program says
 * it holds (jgw-replay's held_peak is its own bookkeeping).
 *
 * Every allocation function of the C library is wrapped; a block counts
 * with its usable size (malloc_usable_size) while it is live. The count
 * starts at the program's first pcap_next_ex(): what was allocated before
 * (configuration, catalog, libpcap's buffer) is fixed state. At exit the
 * largest growth over that start, in bytes, is written to the file named by
 * JGW_MEMCOUNT as "growth_peak N" (nothing when no packet was read).
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_next_ex)(pcap_t *, struct pcap_pkthdr **, const u_char **);

/* dlsym itself may allocate: served from here while resolving. */
static _Alignas(max_align_t) unsigned char boot[8192];
static size_t boot_used;
static bool resolving;

static long long live, peak, base;
static bool armed;

static bool in_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t n)
{
	size_t at = (boot_used + 15) & ~(size_t)15;

	if (n > sizeof(boot) - at)
		return NULL;
	boot_used = at + n;
	return boot + at;     /* static storage: already zero */
}

static void resolve(void)
{
	resolving = true;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	resolving = false;
	if (!real_malloc || !real_free || !real_calloc || !real_realloc || !real_memalign ||
	    !real_posix_memalign || !real_aligned_alloc)
		abort();
}

static void count(long long delta)
{
	live += delta;
	if (live > peak)
		peak = live;
}

static long long size_of(void *p)
{
	return p && !in_boot(p) ? (long long)malloc_usable_size(p) : 0;
}

void *malloc(size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return boot_alloc(n);
		resolve();
	}
	void *p = real_malloc(n);
	count(size_of(p));
	return p;
}

void *calloc(size_t n, size_t m)
{
	if (!real_calloc) {
		if (resolving)
			return m && n > SIZE_MAX / m ? NULL : boot_alloc(n * m);
		resolve();
	}
	void *p = real_calloc(n, m);
	count(size_of(p));
	return p;
}

void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (!real_free)
		resolve();
	count(-size_of(p));
	real_free(p);
}

void *realloc(void *p, size_t n)
{
	if (!real_realloc)
		resolve();
	if (in_boot(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < sizeof(boot) ? n : sizeof(boot));
		return q;
	}
	long long old = size_of(p);
	void *q = real_realloc(p, n);
	if (q || n == 0)
		count(size_of(q) - old);
	return q;
}

void *reallocarray(void *p, size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m)
		return NULL;
	return realloc(p, n * m);
}

void *memalign(size_t align, size_t n)
{
	if (!real_memalign)
		resolve();
	void *p = real_memalign(align, n);
	count(size_of(p));
	return p;
}

void *aligned_alloc(size_t align, size_t n)
{
	if (!real_aligned_alloc)
		resolve();
	void *p = real_aligned_alloc(align, n);
	count(size_of(p));
	return p;
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (!real_posix_memalign)
		resolve();
	int rc = real_posix_memalign(out, align, n);
	if (rc == 0)
		count(size_of(*out));
	return rc;
}

void *valloc(size_t n)
{
	return memalign(4096, n);
}

void *pvalloc(size_t n)
{
	return memalign(4096, (n + 4095) & ~(size_t)4095);
}

int pcap_next_ex(pcap_t *pc, struct pcap_pkthdr **h, const u_char **data)
{
	if (!real_next_ex)
		real_next_ex = (int (*)(pcap_t *, struct pcap_pkthdr **, const u_char **))
			dlsym(RTLD_NEXT, "pcap_next_ex");
	if (!real_next_ex)
		abort();
	if (!armed) {
		armed = true;
		base = live;
		peak = live;
	}
	return real_next_ex(pc, h, data);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("JGW_MEMCOUNT");

	long long growth = peak - base;     /* before fopen allocates */

	if (!path || !armed)
		return;
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "growth_peak %lld\n", growth);
	fclose(f);
}
