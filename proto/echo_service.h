/* The Echo service (echo.proto): the runtime's example, test target and
 * benchmark server. Delayed answers come from another thread, as a slow
 * handler's would. */
#ifndef HS_ECHO_SERVICE_H
#define HS_ECHO_SERVICE_H

#include "rpc_server.h"

/* Adds Echo to s. */
int echo_service_add(rpc_server *s);

/* Waits until every delayed answer has been sent (call before closing). */
void echo_service_drain(void);

#endif
