/* ListNeedles: the paged key listing the audit and `hs rebuild` walk,
 * deleted keys included on request with why they went away. Answers
 * inline: it reads only the index and needle headers. */
#include <errno.h>
#include <stdlib.h>

#include "store.h"
#include "store.pb-c.h"

void
store_list_needles(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	struct store_service *svc = arg;
	const Hs__ListNeedlesRequest *req = (const Hs__ListNeedlesRequest *)msg;
	size_t limit = req->limit ? req->limit : 1000, n = 0, kept = 0;
	if (limit > 10000) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "limit %u is over 10000: page with after_key", req->limit);
		return;
	}
	struct store_needle_info *infos = calloc(limit, sizeof(*infos));
	Hs__NeedleInfo *out = calloc(limit, sizeof(*out));
	Hs__NeedleInfo **ptrs = calloc(limit, sizeof(*ptrs));
	Hs__PhotoId *ids = calloc(limit, sizeof(*ids));
	uint64_t after = req->after_key;
	int rc = infos && out && ptrs && ids ?
	    store_engine_list(svc->engine, after ? &after : NULL, infos, limit,
		&n) :
	    -ENOMEM;
	if (rc != 0) { /* only memory can run out: the index is in RAM */
		rpc_fail(call, HS_RESOURCE_EXHAUSTED,
		    "%s: cannot list needles: %s", svc->name,
		    store_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int deleted = (infos[i].flags & STORE_NF_DELETED) != 0;
		if (deleted && !req->include_deleted)
			continue;
		hs__needle_info__init(&out[kept]);
		hs__photo_id__init(&ids[kept]);
		ids[kept].key = infos[i].key;
		ids[kept].cookie = infos[i].cookie;
		out[kept].id = &ids[kept];
		out[kept].size = infos[i].size;
		out[kept].deleted = deleted;
		out[kept].volume = infos[i].volume;
		out[kept].written_ms = infos[i].written_ms;
		if (infos[i].has_sha256) { /* a v2 needle: empty for v1 */
			out[kept].sha256.data = infos[i].sha256;
			out[kept].sha256.len = sizeof(infos[i].sha256);
		}
		/* STORE_DEL_UNKNOWN (a record older than kinds) is NONE. */
		out[kept].delete_kind = deleted ?
		    (Hs__DeleteKind)infos[i].delete_kind :
		    HS__DELETE_KIND__DELETE_KIND_NONE;
		ptrs[kept] = &out[kept];
		kept++;
	}
	Hs__ListNeedlesReply reply = HS__LIST_NEEDLES_REPLY__INIT;
	reply.needles = ptrs;
	reply.n_needles = kept;
	reply.more = n == limit;
	rpc_reply(call, &reply.base);
out:
	free(infos);
	free(out);
	free(ptrs);
	free(ids);
}
