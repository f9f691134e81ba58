/* Writes that reach a follower go to the leader: the follower sends the
 * same request on (carrying the leader's epoch, which marks it as
 * forwarded) and answers with the leader's answer. A forwarded request is
 * never forwarded again: a second hop answers FAILED_PRECONDITION with the
 * leader hint instead, so stale views cannot make a loop. */
#ifndef DIR_DIR_FORWARD_H
#define DIR_DIR_FORWARD_H

#include "dir.h"

/* Answers call (now, or later from an nng thread). req belongs to call. */
void dir_forward(struct dir *d, rpc_call *call, const ProtobufCMessage *req);

/* Sends the caller to the leader instead (FAILED_PRECONDITION with its
 * address): for calls the leader must see from the caller itself. */
void dir_redirect(struct dir *d, rpc_call *call);

#endif
