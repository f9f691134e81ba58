/* The feed thread: the directory leader's events, each authenticated as
 * the directory's (rt_sub_recv drops forged ones). photo.registered and
 * photo.updated are planned at once (an upload that wrote fewer copies
 * than its target is topped up); store.* events reload the store table; a
 * new leader is dialled; a gap (dropped events) asks for an audit, at most
 * once a minute, since the audit finds whatever the lost events said. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "dirlink.h"
#include "log.h"
#include "repl.h"
#include "storelink.h"

#define GAP_AUDIT_MS 60000

static void
dial_leader(struct repl *r, rt_sub *sub, char *dialled, size_t len)
{
	char pub[256];
	if (repl_dir_leader_pub(r, pub, sizeof(pub), NULL) != 0 || !pub[0] ||
	    strcmp(pub, dialled) == 0)
		return;
	if (rt_sub_dial(sub, pub) == 0) {
		rt_log_info("following the directory leader's events at %s",
		    pub);
		snprintf(dialled, len, "%s", pub);
	}
}

static void
on_event(struct repl *r, const Hs__Event *ev)
{
	if (ev->topic == NULL)
		return;
	if (strncmp(ev->topic, "photo.", 6) == 0 &&
	    ev->body_case == HS__EVENT__BODY_PHOTO)
		repl_consider(r, ev->photo, NULL, 0);
	else if (strncmp(ev->topic, "store.", 6) == 0 && repl_is_active(r))
		repl_stores_refresh(r);
}

void *
repl_feed_main(void *arg)
{
	struct repl *r = arg;
	const char *prefixes[] = { "photo.", "store.", "leader." };
	rt_sub *sub = NULL;
	if (rt_sub_open(&sub, NULL, 0, prefixes, 3, r->ident) != 0) {
		rt_log_error(
		    "cannot open the event subscriber; relying on audits");
		return NULL;
	}
	char dialled[256] = "";
	int64_t last_check = 0, last_gap_audit = -GAP_AUDIT_MS;
	while (!atomic_load(&r->stop)) {
		if (rt_mono_ms() - last_check >= 1000) {
			dial_leader(r, sub, dialled, sizeof(dialled));
			last_check = rt_mono_ms();
		}
		Hs__Event *ev = NULL;
		uint64_t gap = 0;
		if (rt_sub_recv(sub, &ev, &gap, 200) != 0)
			continue;
		if (gap > 0 && repl_is_active(r) &&
		    rt_mono_ms() - last_gap_audit >= GAP_AUDIT_MS) {
			rt_log_warn("missed %llu directory events: auditing",
			    (unsigned long long)gap);
			last_gap_audit = rt_mono_ms();
			repl_audit_request(r, "event gap");
		}
		on_event(r, ev);
		hs__event__free_unpacked(ev, NULL);
	}
	rt_sub_close(sub);
	return NULL;
}
