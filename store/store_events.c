/* What the store tells others: needle.* events on its PUB socket, and
 * the reports to the replicator, access counts and corruption (best
 * effort: the next report, or the audit, finds what a lost one misses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "replicator.pb-c.h"
#include "store.h"

void
store_publish_needle(struct store_service *svc, const char *topic, uint64_t key,
    uint32_t cookie, uint64_t size, uint32_t volume)
{
	Hs__Event ev = HS__EVENT__INIT;
	Hs__NeedleEvent ne = HS__NEEDLE_EVENT__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	if (svc->pub == NULL)
		return;
	id.key = key;
	id.cookie = cookie;
	ne.id = &id;
	ne.store_id = (uint32_t)svc->cfg.id;
	ne.size = size;
	ne.volume = volume;
	ev.topic = (char *)topic;
	ev.body_case = HS__EVENT__BODY_NEEDLE;
	ev.needle = &ne;
	rt_pub_publish(svc->pub, &ev);
}

void
store_publish_compacted(struct store_service *svc, uint32_t volume,
    uint64_t bytes_reclaimed)
{
	Hs__Event ev = HS__EVENT__INIT;
	Hs__CompactionEvent ce = HS__COMPACTION_EVENT__INIT;
	if (svc->pub == NULL)
		return;
	ce.store_id = (uint32_t)svc->cfg.id;
	ce.volume = volume;
	ce.bytes_reclaimed = bytes_reclaimed;
	ev.topic = (char *)"store.compacted";
	ev.body_case = HS__EVENT__BODY_COMPACTION;
	ev.compaction = &ce;
	rt_pub_publish(svc->pub, &ev);
}

/* arg is the method's name, a string literal. Access reports come every
 * STATS_REPORT_INTERVAL and the next one carries on, so a lost one is
 * only worth a debug line; a lost corruption report is worth a warning. */
static void
report_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	const char *method = arg;
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	if (err->code != HS_OK)
		rt_log(strcmp(method, "ReportAccess") == 0 ? RT_LOG_DEBUG :
							     RT_LOG_WARN,
		    "%s not delivered: %s", method, err->message);
}

void
store_report(rpc_client *c, const char *method, const ProtobufCMessage *req)
{
	rpc_invoke_async(c, &hs__replicator__descriptor, method, req, 5000, 0,
	    report_done, (void *)method);
}

rpc_client *
store_replicator(struct store_service *svc)
{
	char addr[256], err[256];
	pthread_mutex_lock(&svc->repl_mu);
	snprintf(addr, sizeof(addr), "%s", svc->repl_addr);
	pthread_mutex_unlock(&svc->repl_mu);
	return addr[0] ?
	    rpc_pool_get(svc->peers, addr, "replicator", err, sizeof(err)) :
	    NULL;
}

void
store_report_corruption(struct store_service *svc, uint64_t key,
    uint32_t cookie, const char *detail)
{
	rpc_client *c = store_replicator(svc);
	if (c == NULL)
		return;
	Hs__ReportCorruptionRequest req = HS__REPORT_CORRUPTION_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = key;
	id.cookie = cookie;
	req.id = &id;
	req.store_id = (uint32_t)svc->cfg.id;
	req.reporter = svc->name;
	req.detail = (char *)detail;
	store_report(c, "ReportCorruption", &req.base);
}
