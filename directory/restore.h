/* A way back (docs/reliability.md): ListRecords pages every record of the
 * leader's memory in key order for `hs backup`; Restore puts records back
 * into a metadata Redis that lost them (`hs restore`, `hs rebuild`), each
 * committed through the change log like a registration, never over a
 * record that exists. */
#ifndef DIR_RESTORE_H
#define DIR_RESTORE_H

#include "dir.h"

/* The two handlers, for the method table (arg is the struct dir). */
void dir_list_records(rpc_call *call, const ProtobufCMessage *m, void *arg);
void dir_restore(rpc_call *call, const ProtobufCMessage *m, void *arg);

#endif
