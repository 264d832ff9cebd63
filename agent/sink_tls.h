/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TLS for the network sinks (syslog over TLS, RFC 5425): a layer over
 * sink_net's TCP transport (struct snet_layer), so the connection,
 * backoff and bounded buffer stay the ones of sink_net.c.
 *
 * Mutual authentication, never silently insecure: TLS 1.3 at least (1.2
 * only when asked), the server certificate verified against the
 * configured CA (and only it: not the system store) and name, a client
 * certificate and key always sent, a receiver that does not ask for it
 * refused. No plaintext fallback. The files are read again at every
 * (re)connection, and at once on a reload (SIGHUP), so a rotated
 * certificate is picked up without a restart. See docs/tls.md.
 */
#ifndef WARD_SINK_TLS_H
#define WARD_SINK_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"
#include "sink_net.h"

#define TLS_SYSLOG_PORT "6514" /* RFC 5425 4.1 */

struct tls_opts {
	const char *ca;    /* PEM: the CA(s) the server certificate must chain to */
	const char *cert;  /* PEM: client certificate (and its chain)           */
	const char *key;   /* PEM: its private key; refused if world-readable   */
	const char *name;  /* expected server name, DNS or IP; NULL: the host   */
	bool allow_tls12;  /* tls=1.2: accept TLS 1.2 as well                    */
};

struct tls_layer;

/* Check and load the files once (errors now rather than at the first
 * connection); who names the sink in logs. NULL with a reason in err. */
struct tls_layer *tls_layer_new(const struct tls_opts *o, const char *host, const char *who,
				char *err, size_t errlen);
void tls_layer_free(struct tls_layer *t);
/* Load and check the files again (as at start) for the next connection.
 * 0, or -1 when they are not usable: logged, with the file and why, and
 * the context in use stays. */
int tls_layer_reload(struct tls_layer *t);
extern const struct snet_layer tls_snet_layer;

/* syslog+tls://: RFC 5425, octet counting (sink_syslog.c). NULL on error,
 * the reason logged. */
struct sink *sink_syslog_tls_open(const char *host, const char *port, const struct tls_opts *o,
				  enum rec_format fmt);

#endif
