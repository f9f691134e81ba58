/* What a benchmark phase cost the machine, read from the kernel before
 * and after it: non-idle CPU time (/proc/stat, every process, ours and the
 * cluster's), TCP segments sent (/proc/net/snmp), and this process's RPC
 * calls (proto/rpc_client.h). Whole-machine figures, so nothing else should
 * run during a benchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "rpc_client.h"

/* user nice system idle iowait irq softirq steal, summed without idle and
 * iowait (guest time is already inside user). */
static uint64_t
busy_jiffies(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		&v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		memset(v, 0, sizeof(v));
	fclose(f);
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

/* /proc/net/snmp holds two "Tcp:" lines, the names and then the values. */
static uint64_t
tcp_out_segs(void)
{
	char names[1024], values[1024];
	int col = -1;
	uint64_t out = 0;
	FILE *f = fopen("/proc/net/snmp", "r");
	if (f == NULL)
		return 0;
	while (fgets(names, sizeof(names), f) != NULL) {
		if (strncmp(names, "Tcp:", 4) != 0 ||
		    fgets(values, sizeof(values), f) == NULL)
			continue;
		char *sn, *sv, *n = strtok_r(names, " \n", &sn);
		char *v = strtok_r(values, " \n", &sv);
		for (int i = 0; n != NULL && v != NULL; i++) {
			if (strcmp(n, "OutSegs") == 0)
				col = i, out = strtoull(v, NULL, 10);
			n = strtok_r(NULL, " \n", &sn);
			v = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return col < 0 ? 0 : out;
}

void
bench_costs_sample(struct bench_costs *c)
{
	c->busy_jiffies = busy_jiffies();
	c->out_segs = tcp_out_segs();
	c->rpc_calls = rpc_calls_started();
}

void
bench_costs_per_op(const struct bench_costs *a, const struct bench_costs *b,
    struct bench_result *r)
{
	double n = r->n ? (double)r->n : 1.0;
	double us_per_jiffy = 1e6 / (double)sysconf(_SC_CLK_TCK);
	r->cpu_us_per_op = (double)(b->busy_jiffies - a->busy_jiffies) *
	    us_per_jiffy / n;
	r->rpc_per_op = (double)(b->rpc_calls - a->rpc_calls) / n;
	r->segs_per_op = (double)(b->out_segs - a->out_segs) / n;
}
