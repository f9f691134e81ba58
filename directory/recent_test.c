/* The status page's recent events (recent.h): the newest DIR_RECENT_MAX
 * are kept, newest first, and a photo is shown by its key without its
 * cookie (the page is served to anyone; the cookie lets anyone read the
 * photo). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "recent.h"

static void
note_photo(struct dir_recent *r, uint64_t key, uint64_t seq)
{
	Hs__Event ev = HS__EVENT__INIT;
	Hs__PhotoRecord p = HS__PHOTO_RECORD__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = key;
	id.cookie = 0xdeadbeef;
	p.id = &id;
	p.seq = seq;
	ev.topic = "photo.registered";
	ev.time_ms = 1000 + (int64_t)seq;
	ev.body_case = HS__EVENT__BODY_PHOTO;
	ev.photo = &p;
	dir_recent_note(r, &ev, 1);
}

static void
test_keeps_the_newest_first(void)
{
	struct dir_recent *r = dir_recent_open();
	struct dir_recent_event out[DIR_RECENT_MAX + 5];
	CHECK(r != NULL);
	CHECK_EQ(dir_recent_list(r, out, DIR_RECENT_MAX), 0);
	for (uint64_t seq = 1; seq <= DIR_RECENT_MAX + 5; seq++)
		note_photo(r, 0x1234, seq);
	size_t n = dir_recent_list(r, out, DIR_RECENT_MAX + 5);
	dir_recent_close(r);
	CHECK_EQ(n, DIR_RECENT_MAX);
	CHECK_EQ(out[0].at_ms, 1000 + DIR_RECENT_MAX + 5);
	CHECK_EQ(out[n - 1].at_ms, 1000 + 6);
	CHECK(out[0].published == 1);
	CHECK(strcmp(out[0].topic, "photo.registered") == 0);
}

static void
test_photo_shown_without_its_cookie(void)
{
	struct dir_recent *r = dir_recent_open();
	struct dir_recent_event out[1];
	CHECK(r != NULL);
	note_photo(r, 0x1234, 7);
	size_t n = dir_recent_list(r, out, 1);
	dir_recent_close(r);
	CHECK_EQ(n, 1);
	CHECK_MSG(strstr(out[0].detail, "0000000000001234") != NULL &&
		strstr(out[0].detail, "seq 7") != NULL,
	    "detail: %s", out[0].detail);
	CHECK_MSG(strstr(out[0].detail, "deadbeef") == NULL,
	    "the cookie is on the page: %s", out[0].detail);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "keeps the newest first", test_keeps_the_newest_first },
		{ "photo shown without its cookie",
		    test_photo_shown_without_its_cookie },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
