/* What the bench's files share: the session and options every case reads,
 * the figures printed together at the end, a row of a case's table, and
 * whether an extension comes from the implementation under the bench. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "bench_common.h"

struct bench_ze session;
ze_event_scope_flags_t floor_scope;
struct bench_swze swze;
int g_runs = 11;
int g_quick;
uint64_t g_target_ns = 100000000;

void *own_extension(const char *name)
{
	void *found = dlsym(RTLD_DEFAULT, name), *create = dlsym(RTLD_DEFAULT, "aml_dma_ze_create");
	Dl_info found_home, create_home;
	if (found == NULL || create == NULL || !dladdr(found, &found_home) || !dladdr(create, &create_home) ||
	    strcmp(found_home.dli_fname, create_home.dli_fname) != 0)
		return NULL;
	return found;
}

/* Figures are printed together at the end so a reader finds them in one block. */
#define MAXFIG 128
static struct {
	char name[96];
	char value[64];
} figs[MAXFIG];
static int nfigs;

static void figure_text(const char *name, const char *suffix, const char *value)
{
	if (nfigs >= MAXFIG)
		return;
	snprintf(figs[nfigs].name, sizeof figs[nfigs].name, "%s%s", name, suffix);
	snprintf(figs[nfigs].value, sizeof figs[nfigs].value, "%s", value);
	nfigs++;
}

void figure(const char *name, const char *suffix, const char *fmt, double v)
{
	char value[64];
	snprintf(value, sizeof value, fmt, v);
	figure_text(name, suffix, value);
}

void figure_na(const char *name, const char *suffix)
{
	figure_text(name, suffix, "unavailable");
}

void row(const char *kase, const char *mode, const struct bench_series *s, const char *unit)
{
	printf("%-34s %-8s %12.1f %12.1f %12.1f  %s\n", kase, mode, bench_series_median(s), bench_series_min(s),
	       bench_series_max(s), unit);
	fflush(stdout);
}

void print_figures(void)
{
	for (int i = 0; i < nfigs; i++)
		printf("figure %s %s\n", figs[i].name, figs[i].value);
}
