/* LeakSanitizer suppressions for nng 1.5.2, linked into every binary that
 * links nng. 1.5.2 leaks its own objects when a socket closes at the wrong
 * moment: messages still queued (a PUB queue, a REQ context's copy kept
 * for resending), and the dialer and pipe objects of a dial still in
 * progress (allocated on nng's threads, in a stripped library, so there is
 * no function name to match). Suppressed: blocks allocated inside libnng.
 * Our own allocations (protobuf-c messages, buffers, structs) are still
 * reported wherever they leak. */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libnng.so.1\n";
}
