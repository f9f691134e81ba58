/* The process's TLS identity and its application to nng dialers and
 * listeners (see tls.h). Each dialer and listener gets an nng_tls_config
 * of its own, made from the files when the socket is made: a dialer's
 * config carries the server name of its own address, and a renewed
 * certificate is picked up by the next connection made, without a
 * restart. */
#include "tls.h"

#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define TLS_PATH_MAX 1024

/* The identity, written by rt_tls_setup at start-up and read by every
 * dial and listen; one per process by design (tls.h). */
static struct {
	pthread_mutex_t mu;
	char ca[TLS_PATH_MAX];
	char cert[TLS_PATH_MAX];
} tls = { .mu = PTHREAD_MUTEX_INITIALIZER };

int
rt_tls_url(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp", 7) == 0;
}

/* A config in mode from the files, mutual authentication required, with
 * server_name (a dialer's) when non-NULL. 0 or an nng error, what failed
 * in err. */
static int
make_config(nng_tls_config **out, nng_tls_mode mode, const char *ca,
    const char *cert, const char *server_name, char *err, size_t errlen)
{
	nng_tls_config *cfg;
	const char *what = "cannot make a TLS configuration";
	int rv = nng_tls_config_alloc(&cfg, mode);
	if (rv != 0)
		goto fail;
	what = "TLS: cannot use the CA file";
	rv = nng_tls_config_ca_file(cfg, ca);
	if (rv == 0 && cert[0] != '\0') {
		what = "TLS: cannot use the certificate and key file";
		rv = nng_tls_config_cert_key_file(cfg, cert, NULL);
	}
	if (rv == 0) {
		what = "TLS: cannot require the peer's certificate";
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	}
	if (rv == 0 && server_name != NULL) {
		what = "TLS: cannot set the server name";
		rv = nng_tls_config_server_name(cfg, server_name);
	}
	if (rv == 0) {
		*out = cfg;
		return 0;
	}
	nng_tls_config_free(cfg);
fail:
	snprintf(err, errlen, "%s (CA %s, certificate %s): %s", what, ca,
	    cert[0] ? cert : "none", nng_strerror(rv));
	return rv;
}

/* A key readable by group or others is refused: anyone on the machine
 * could then be this process. */
static int
check_private(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen,
		    "TLS: cannot read the certificate and key file %s; make "
		    "one with tools/certs",
		    path);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen,
		    "TLS: %s holds a private key but is readable by others "
		    "(mode %03o); run chmod 600 %s",
		    path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	return 0;
}

int
rt_tls_setup(const char *ca, const char *cert, char *err, size_t errlen)
{
	ca = ca != NULL ? ca : "";
	cert = cert != NULL ? cert : "";
	if (strlen(ca) >= TLS_PATH_MAX || strlen(cert) >= TLS_PATH_MAX) {
		snprintf(err, errlen, "TLS: a file path is over %d characters",
		    TLS_PATH_MAX - 1);
		return -1;
	}
	if (ca[0] == '\0' && cert[0] != '\0') {
		snprintf(err, errlen,
		    "TLS: a certificate (%s) needs the CA its peers are "
		    "signed by: set HS_TLS_CA (--tls-ca)",
		    cert);
		return -1;
	}
	if (ca[0] != '\0') {
		nng_tls_config *cfg;
		if (cert[0] != '\0' && check_private(cert, err, errlen) != 0)
			return -1;
		if (make_config(&cfg, NNG_TLS_MODE_CLIENT, ca, cert, NULL, err,
			errlen) != 0)
			return -1;
		nng_tls_config_free(cfg);
	}
	pthread_mutex_lock(&tls.mu);
	snprintf(tls.ca, sizeof(tls.ca), "%s", ca);
	snprintf(tls.cert, sizeof(tls.cert), "%s", cert);
	pthread_mutex_unlock(&tls.mu);
	return 0;
}

/* The config for one socket end from the identity now set: a client's
 * server name is url's host. */
static int
socket_config(nng_tls_config **out, nng_tls_mode mode, const char *url,
    char *err, size_t errlen)
{
	char ca[TLS_PATH_MAX], cert[TLS_PATH_MAX];
	pthread_mutex_lock(&tls.mu);
	memcpy(ca, tls.ca, sizeof(ca));
	memcpy(cert, tls.cert, sizeof(cert));
	pthread_mutex_unlock(&tls.mu);
	if (ca[0] == '\0' || (mode == NNG_TLS_MODE_SERVER && cert[0] == '\0')) {
		snprintf(err, errlen,
		    "%s is a TLS address but this process has no %s: set "
		    "HS_TLS_CA and HS_TLS_CERT (--tls-ca, --tls-cert, or "
		    "tls_ca and tls_cert in the cluster file; tools/certs "
		    "makes them)",
		    url, ca[0] == '\0' ? "CA" : "certificate");
		return NNG_EINVAL;
	}
	nng_url *u = NULL;
	int rv = 0;
	if (mode == NNG_TLS_MODE_CLIENT && (rv = nng_url_parse(&u, url)) != 0) {
		snprintf(err, errlen, "bad address '%s': %s", url,
		    nng_strerror(rv));
		return rv;
	}
	rv = make_config(out, mode, ca, cert, u != NULL ? u->u_hostname : NULL,
	    err, errlen);
	if (u != NULL)
		nng_url_free(u);
	return rv;
}

int
rt_tls_dialer(nng_dialer d, const char *url, char *err, size_t errlen)
{
	nng_tls_config *cfg;
	if (!rt_tls_url(url))
		return 0;
	int rv = socket_config(&cfg, NNG_TLS_MODE_CLIENT, url, err, errlen);
	if (rv != 0)
		return rv;
	/* The dialer takes a hold of its own; ours goes. */
	if ((rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0)
		snprintf(err, errlen,
		    "%s: cannot set its TLS configuration: %s", url,
		    nng_strerror(rv));
	nng_tls_config_free(cfg);
	return rv;
}

int
rt_tls_listener(nng_listener l, const char *url, char *err, size_t errlen)
{
	nng_tls_config *cfg;
	if (!rt_tls_url(url))
		return 0;
	int rv = socket_config(&cfg, NNG_TLS_MODE_SERVER, url, err, errlen);
	if (rv != 0)
		return rv;
	if ((rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)) != 0)
		snprintf(err, errlen,
		    "%s: cannot set its TLS configuration: %s", url,
		    nng_strerror(rv));
	nng_tls_config_free(cfg);
	return rv;
}
