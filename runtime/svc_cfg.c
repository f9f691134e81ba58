/* The checks every service's options end with (see svc_cfg.h). */
#include "svc_cfg.h"

#include "tls.h"

int
rt_svc_cfg_check(struct rt_redis_ep *redis, int redis_optional,
    struct rt_redis_ep *cache, const char *tls_ca, const char *tls_cert,
    const char *listen, const char **advertise, char *err, size_t errlen)
{
	/* A bad Redis address or password file stops start-up here rather
	 * than in the first thread that dials it. */
	if (rt_redis_check_option("HS_REDIS", redis, redis_optional, err,
		errlen) != 0 ||
	    (cache != NULL &&
		rt_redis_check_option("HS_CACHE_REDIS", cache, 1, err,
		    errlen) != 0) ||
	    rt_tls_setup(tls_ca, tls_cert, err, errlen) != 0)
		return -1;
	if ((*advertise)[0] == '\0')
		*advertise = listen;
	return 0;
}
