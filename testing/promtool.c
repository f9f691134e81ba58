/* test_promtool_check (promtool.h): through a shell only for the stdin
 * redirection promtool needs, the page in a file so nothing can block. */
#include "promtool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

int
test_promtool_check(const char *page, size_t len, const char *dir, char *why,
    size_t whylen)
{
	char path[600], out[2048] = "", err[2048] = "";
	snprintf(path, sizeof(path), "%s/page-XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, page, len) != (ssize_t)len) {
		snprintf(why, whylen, "cannot write %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	char *const argv[] = { "sh", "-c",
		"exec promtool check metrics < \"$0\"", path, NULL };
	int rc = test_proc_run(argv, NULL, dir, out, sizeof(out), err,
	    sizeof(err), 30000);
	snprintf(why, whylen, "%s%s", out, err);
	if (rc == 127)
		snprintf(why, whylen,
		    "promtool is not installed: run tools/setup.sh "
		    "(Debian's prometheus package)");
	if (rc == 0)
		unlink(path);
	return rc;
}
