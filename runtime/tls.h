/* TLS on every socket: the process's certificate, its key and the CA its
 * peers must be signed by, applied to every nng dialer and listener whose
 * address is tls+tcp:// (plain tcp:// and ipc:// addresses are untouched).
 * Authentication is mutual: a listener refuses a peer without a
 * certificate signed by the CA, and a dialer checks the server's
 * certificate against the CA and the host name of the address (a DNS
 * name: the mbedTLS 2.28 under Debian's nng 1.5.2 does not match IP
 * address SANs, so dial tls+tcp://localhost:PORT, never 127.0.0.1).
 *
 * One TLS identity per process, set once at start-up (by a service's
 * config load, or by libhs's hs_open from the cluster file) before any
 * socket is made: every socket of the process presents the same
 * certificate, so it is not threaded through every socket's options.
 * Certificates and keys come from `tools/certs`. */
#ifndef RT_TLS_H
#define RT_TLS_H

#include <nng/nng.h>
#include <stddef.h>

/* The two option-table rows every service has (runtime/cfg.h), targets
 * the fields tls_ca and tls_cert (const char *) of its config struct. */
#define RT_TLS_CFG_ROWS                                                        \
	RT_CFG_FIELD("HS_TLS_CA", "tls-ca", RT_CFG_STRING, tls_ca, 0, 0, "",   \
	    "CA certificate (PEM) every tls+tcp:// peer must be signed by"),   \
	    RT_CFG_FIELD("HS_TLS_CERT", "tls-cert", RT_CFG_STRING, tls_cert,   \
		0, 0, "",                                                      \
		"this process's certificate and key (one PEM file, mode "      \
		"0600) for tls+tcp:// addresses")

/* Sets the process's TLS identity: ca (PEM) and cert (certificate and
 * unencrypted key in one PEM file, readable by its owner only). Both empty
 * or NULL: no TLS (a tls+tcp:// address is then refused). A cert needs a
 * ca; a ca alone is a client that presents no certificate (servers refuse
 * it). The files are loaded once here to catch mistakes at start-up.
 * 0, or -1 with a message for people in err. */
int rt_tls_setup(const char *ca, const char *cert, char *err, size_t errlen);

/* 1 when url is a TLS address (tls+tcp://, tls+tcp4://, tls+tcp6://). */
int rt_tls_url(const char *url);

/* Before nng_dialer_start / nng_listener_start: gives d (or l) the
 * process's TLS configuration when url is a TLS address; nothing
 * otherwise. 0, or an nng error with a message in err (no TLS identity
 * set up, a listener without a certificate, an unreadable file). */
int rt_tls_dialer(nng_dialer d, const char *url, char *err, size_t errlen);
int rt_tls_listener(nng_listener l, const char *url, char *err, size_t errlen);

#endif
