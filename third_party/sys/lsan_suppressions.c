/* LeakSanitizer suppressions for nng 1.5.2, linked into every binary that
 * links nng. nng takes ownership of a message on a successful send; when a
 * socket closes with messages still queued (a PUB queue, a REQ context's
 * copy kept for resending) 1.5.2 does not free them. Only the functions
 * that hand freshly packed messages to nng are listed, so a message we
 * receive and forget to free is still reported. */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:hs_pub_publish\n"
	       "leak:rpc_wire_pack_request\n"
	       "leak:rpc_wire_pack_reply\n";
}
