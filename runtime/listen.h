/* A listener that keeps accepting: the one way the RPC server and the event
 * publisher listen (nng_listener_create, the TLS configuration, start).
 *
 * Why a guard: Debian's nng 1.5.2 ends a TLS listener's accept loop for
 * good when a peer hangs up at one moment of its handshake (the
 * negotiation fails with NNG_ECLOSED, which the listener takes for its
 * own close; nng issue 1518, fixed in 1.6). Peers then still complete
 * their handshakes, but the socket never takes them in: their calls are
 * never read. Any client that exits while connecting can cause it, and
 * so can a stranger on purpose. So a TLS listener is probed every
 * RT_LISTEN_PROBE_MS: the guard connects to it with the process's own
 * certificate and, when that connection completes but the socket never
 * takes it in, closes the listener and listens again on the same port.
 * Closing a listener closes the connections it accepted; their peers
 * reconnect by themselves. The probe dials the address listened on, so
 * its host must be the name the certificate carries (as every TLS address
 * here is: tls+tcp://localhost:PORT, or a host's DNS name), not 0.0.0.0.
 * Plain tcp:// and ipc:// listeners have no guard (their transports do
 * not have the defect). */
#ifndef RT_LISTEN_H
#define RT_LISTEN_H

#include <nng/nng.h>
#include <stddef.h>

#define RT_LISTEN_PROBE_MS 2000

typedef struct rt_listen rt_listen;

/* Listens on url with sock. peer_open opens a socket of the protocol that
 * talks to sock's (nng_req0_open for a REP socket, nng_sub0_open for a
 * PUB one): the probe's. The guard counts sock's new pipes through
 * NNG_PIPE_EV_ADD_POST, so sock has one such listener and no other
 * ADD_POST callback. The address listened on, with a port of 0 replaced
 * by the one bound, into bound (when not NULL). 0, or an nng error with a
 * message for people in why. */
int rt_listen_open(rt_listen **out, nng_socket sock, const char *url,
    int (*peer_open)(nng_socket *), char *bound, size_t boundlen, char *why,
    size_t whylen);

/* Stops the guard and frees l. After nng_close(sock), which closes the
 * listener: no pipe of sock then calls back into l. NULL is fine. */
void rt_listen_close(rt_listen *l);

#endif
