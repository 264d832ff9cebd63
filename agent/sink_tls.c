// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The TLS layer of the network sinks (see sink_tls.h): OpenSSL over the
 * non-blocking socket of sink_net.c, driven from the writer thread
 * without ever waiting.
 *
 * Every (re)connection builds a fresh SSL_CTX from the files, so a
 * certificate rotated on disk is used from the next connection on. A
 * reload (SIGHUP) builds it at once: when the files are good it is kept
 * for the connection the sink then makes, when they are not the sink
 * goes on with the connection it has.
 *
 * TLS 1.3 moves the server's check of the client certificate after the
 * client's handshake is done: the server then answers with session
 * tickets, or with an alert (unknown CA, expired...). So the handshake
 * is only taken as done when a ticket came, or when nothing (neither
 * ticket nor alert) came within TLS_CONFIRM_MS: nothing is sent to a
 * server that is about to refuse us, and a refusal is an authentication
 * failure rather than a connection that broke mid-stream.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "sink_tls.h"

#define TLS_CONFIRM_MS 1500 /* TLS 1.3: how long to wait for the server's verdict */
#define TLS_CLOSE_WAIT_MS 2000 /* close: how long the receiver may take to close its end */

struct tls_layer {
	char *ca, *cert, *key, *name;
	bool name_is_ip, tls12;
	char who[300];          /* the sink, for logs */
	SSL_CTX *ctx;           /* of the connection */
	SSL_CTX *fresh;         /* reloaded, for the next connection */
	SSL *ssl;
	bool hs_done;           /* SSL_connect finished */
	bool cert_requested;    /* the server asked for our certificate */
	bool ticket;            /* TLS 1.3: a session ticket came: we were accepted */
	uint64_t hs_done_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* The last OpenSSL error as text, "" when none; clears the queue. */
static const char *tls_errstr(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	buf[0] = '\0';
	if (e)
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* ---- a socket BIO that never raises SIGPIPE ------------------------------- */
static BIO_METHOD *nosig_method;

static int nosig_write(BIO *b, const char *buf, int len)
{
	int fd = -1, r;

	BIO_get_fd(b, &fd);
	errno = 0;
	r = (int)send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	BIO_clear_retry_flags(b);
	if (r <= 0 && BIO_sock_should_retry(r))
		BIO_set_retry_write(b);
	return r;
}

/* Once, from sink_open (the main thread, before the writer thread runs). */
static int nosig_init(void)
{
	const BIO_METHOD *s = BIO_s_socket();
	BIO_METHOD *m;

	if (nosig_method)
		return 0;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
			 "ward socket");
	if (!m)
		return -1;
	BIO_meth_set_write(m, nosig_write);
	BIO_meth_set_read(m, BIO_meth_get_read(s));
	BIO_meth_set_puts(m, BIO_meth_get_puts(s));
	BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(s));
	BIO_meth_set_create(m, BIO_meth_get_create(s));
	BIO_meth_set_destroy(m, BIO_meth_get_destroy(s));
	nosig_method = m;
	return 0;
}

static BIO *nosig_bio(int fd)
{
	BIO *b;

	if (!nosig_method)
		return NULL;
	b = BIO_new(nosig_method);
	if (b)
		BIO_set_fd(b, fd, BIO_NOCLOSE);
	return b;
}

/* ---- loading the files ------------------------------------------------------ */

/* The private key, refused when others may read or write it. */
static EVP_PKEY *tls_load_key(const char *path, char *err, size_t errlen)
{
	char ebuf[256];
	struct stat st;
	EVP_PKEY *k;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "key %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen,
			 "key %s is readable or writable by every user (mode %04o): refused; chmod o-rwx it",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "key %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, (void *)""); /* no prompt for a passphrase */
	fclose(f);
	if (!k)
		snprintf(err, errlen, "key %s: not a PEM private key without passphrase (%s)", path,
			 tls_errstr(ebuf, sizeof(ebuf)));
	return k;
}

static int tls_cert_cb(SSL *ssl, void *arg)
{
	struct tls_layer *t = arg;

	(void)ssl;
	t->cert_requested = true;
	return 1;
}

static int tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_layer *t = SSL_get_app_data(ssl);

	(void)sess;
	if (t)
		t->ticket = true;
	return 0; /* not kept: no resumption, every connection authenticates fully */
}

/* A context from the files as they are now. */
static SSL_CTX *tls_make_ctx(struct tls_layer *t, char *err, size_t errlen)
{
	char ebuf[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	EVP_PKEY *key = NULL;
	X509 *crt;

	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new: %s", tls_errstr(ebuf, sizeof(ebuf)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, t->tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* only the configured CA: not the system store */
	if (SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
		snprintf(err, errlen, "ca %s: cannot load (%s)", t->ca, tls_errstr(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
		snprintf(err, errlen, "cert %s: cannot load (%s)", t->cert,
			 tls_errstr(ebuf, sizeof(ebuf)));
		goto fail;
	}
	key = tls_load_key(t->key, err, errlen);
	if (!key)
		goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s does not match cert %s (%s)", t->key, t->cert,
			 tls_errstr(ebuf, sizeof(ebuf)));
		goto fail;
	}
	EVP_PKEY_free(key);
	key = NULL;
	crt = SSL_CTX_get0_certificate(ctx);
	if (crt && X509_cmp_current_time(X509_get0_notAfter(crt)) < 0) {
		snprintf(err, errlen, "cert %s has expired: renew it", t->cert);
		goto fail;
	}
	if (crt && X509_cmp_current_time(X509_get0_notBefore(crt)) > 0) {
		snprintf(err, errlen, "cert %s is not valid yet (clock?)", t->cert);
		goto fail;
	}
	SSL_CTX_set_cert_cb(ctx, tls_cert_cb, t);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
	return ctx;
fail:
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- the layer ----------------------------------------------------------------- */

/* The error is the peer closing without close_notify (OpenSSL 3 says so
 * with an SSL error): a connection that went, not a TLS failure. */
static bool tls_eof(void)
{
	unsigned long e = ERR_peek_last_error();

	return e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	       ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* The handshake failed with an SSL error: say why, as precisely as
 * OpenSSL knows, and whose side it is on. Always -EKEYREJECTED: a TLS
 * error at handshake is a configuration or an attack, not a glitch. */
static int tls_refused(struct tls_layer *t)
{
	long vr = SSL_get_verify_result(t->ssl);
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char ebuf[256];

	if (vr != X509_V_OK)
		pr_warn("%s: the server certificate is refused: %s (expected name \"%s\", CA %s); "
			"nothing is sent, records are counted lost, next try in a minute\n",
			t->who, X509_verify_cert_error_string(vr), t->name, t->ca);
	else if (e && (ERR_GET_REASON(e) == SSL_R_UNSUPPORTED_PROTOCOL ||
		       ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
		       ERR_GET_REASON(e) == SSL_R_NO_PROTOCOLS_AVAILABLE))
		pr_warn("%s: no common TLS version: this sink requires TLS %s or newer (%s); "
			"nothing is sent, records are counted lost, next try in a minute\n",
			t->who, t->tls12 ? "1.2" : "1.3 (tls=1.2 allows 1.2)", reason ? reason : "?");
	else
		pr_warn("%s: TLS handshake refused: %s; nothing is sent, records are counted lost, "
			"next try in a minute\n",
			t->who, reason ? reason : tls_errstr(ebuf, sizeof(ebuf)));
	ERR_clear_error();
	return -EKEYREJECTED;
}

static void tls_stop(void *ctx, bool clean)
{
	struct tls_layer *t = ctx;

	if (t->ssl) {
		if (clean && t->hs_done) {
			int fd = SSL_get_fd(t->ssl);
			char scratch[4096];

			uint64_t end = mono_ms() + TLS_CLOSE_WAIT_MS, now;

			(void)SSL_shutdown(t->ssl); /* close_notify */
			/* FIN after the last record, then read until the receiver
			 * closes too: a socket closed with unread data (TLS 1.3
			 * session tickets a server may send late, its close_notify)
			 * sends a reset, and a reset makes the receiver drop what
			 * it had not read yet. Bounded: only at the sink's close. */
			if (fd >= 0 && !shutdown(fd, SHUT_WR)) {
				while ((now = mono_ms()) < end) {
					struct pollfd p = { .fd = fd, .events = POLLIN };
					ssize_t r;

					if (poll(&p, 1, (int)(end - now)) <= 0)
						break;
					r = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
					if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
						break;
				}
			}
		}
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	t->ssl = NULL;
	t->ctx = NULL;
	t->hs_done = t->cert_requested = t->ticket = false;
}

static int tls_start(void *ctx, int fd)
{
	struct tls_layer *t = ctx;
	char err[512];
	BIO *b;

	t->ctx = t->fresh ? t->fresh : tls_make_ctx(t, err, sizeof(err));
	t->fresh = NULL;
	if (!t->ctx) {
		pr_warn("%s: %s; nothing is sent, records are counted lost, next try in a minute\n",
			t->who, err);
		return -EKEYREJECTED;
	}
	t->ssl = SSL_new(t->ctx);
	b = t->ssl ? nosig_bio(fd) : NULL;
	if (!b) {
		tls_stop(t, false);
		return -ENOMEM;
	}
	SSL_set_bio(t->ssl, b, b);
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(t->ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (t->name_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->name) != 1)
			goto bad_name;
	} else if (SSL_set1_host(t->ssl, t->name) != 1 ||
		   SSL_set_tlsext_host_name(t->ssl, t->name) != 1) {
		goto bad_name;
	}
	return 0;
bad_name:
	pr_warn("%s: cannot use \"%s\" as the expected server name\n", t->who, t->name);
	tls_stop(t, false);
	return -EKEYREJECTED;
}

/* "SUBJECT serial HEX" of a certificate, for logs. */
static void tls_cert_text(X509 *c, char *buf, size_t len)
{
	BIGNUM *bn = c ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char subj[256] = "?";

	if (c)
		X509_NAME_oneline(X509_get_subject_name(c), subj, sizeof(subj));
	snprintf(buf, len, "%s serial %s", subj, hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

static int tls_up(struct tls_layer *t)
{
	X509 *peer = SSL_get0_peer_certificate(t->ssl);
	char subj[256] = "?", me[400];

	if (peer)
		X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof(subj));
	tls_cert_text(SSL_get_certificate(t->ssl), me, sizeof(me));
	pr_info("%s: %s %s, server certificate %s verified as \"%s\" against %s, client certificate %s (%s)\n",
		t->who, SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl), subj, t->name, t->ca,
		me, t->cert);
	return 1;
}

static int tls_handshake(void *ctx, short *events)
{
	struct tls_layer *t = ctx;
	char buf[256];
	int rc, e;

	*events = POLLIN;
	if (!t->hs_done) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(t->ssl);
		if (rc != 1) {
			e = SSL_get_error(t->ssl, rc);
			if (e == SSL_ERROR_WANT_READ)
				return 0;
			if (e == SSL_ERROR_WANT_WRITE) {
				*events = POLLOUT;
				return 0;
			}
			if (e == SSL_ERROR_SSL && !tls_eof())
				return tls_refused(t);
			ERR_clear_error();
			return -(errno ? errno : ECONNRESET); /* the connection broke: retry */
		}
		t->hs_done = true;
		t->hs_done_ms = mono_ms();
		if (!t->cert_requested) {
			pr_warn("%s: the receiver did not ask for a client certificate: mutual "
				"authentication is required, refused; nothing is sent, records are "
				"counted lost, next try in a minute\n",
				t->who);
			return -EKEYREJECTED;
		}
		if (SSL_version(t->ssl) < TLS1_3_VERSION)
			return tls_up(t); /* 1.2: the server checked us before its Finished */
	}
	/* TLS 1.3: wait for the server's verdict on our certificate */
	ERR_clear_error();
	rc = SSL_read(t->ssl, buf, sizeof(buf));
	if (rc > 0 || t->ticket)
		return tls_up(t);
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		if (e == SSL_ERROR_WANT_WRITE)
			*events = POLLOUT;
		if (mono_ms() - t->hs_done_ms >= TLS_CONFIRM_MS)
			return tls_up(t); /* a server that sends no tickets */
		return 0;
	}
	if (e == SSL_ERROR_SSL && !tls_eof())
		return tls_refused(t);
	ERR_clear_error();
	pr_warn("%s: the receiver closed the connection right after the TLS handshake: it most "
		"likely refused our client certificate %s; records are counted lost, next try in a minute\n",
		t->who, t->cert);
	return -EKEYREJECTED;
}

/* After the handshake: errors end the connection, the next handshake
 * tells whether it was more than a glitch. */
static ssize_t tls_io_error(struct tls_layer *t, int rc, const char *what)
{
	int e = SSL_get_error(t->ssl, rc);
	char ebuf[256];

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0; /* close_notify: the peer left */
	case SSL_ERROR_SSL:
		if (tls_eof()) {
			ERR_clear_error();
			errno = ECONNRESET;
			return 0;
		}
		pr_warn("%s: TLS %s: %s\n", t->who, what, tls_errstr(ebuf, sizeof(ebuf)));
		errno = EPROTO;
		return -1;
	default:
		ERR_clear_error();
		if (!errno || errno == EAGAIN)
			errno = ECONNRESET;
		return rc == 0 ? 0 : -1;
	}
}

static ssize_t tls_send(void *ctx, const void *p, size_t len)
{
	struct tls_layer *t = ctx;
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
	if (rc > 0)
		return rc;
	rc = (int)tls_io_error(t, rc, "send");
	if (rc == 0) {
		errno = EPIPE;
		return -1;
	}
	return rc;
}

static ssize_t tls_recv(void *ctx, void *p, size_t len)
{
	struct tls_layer *t = ctx;
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_read(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
	if (rc > 0)
		return rc;
	return tls_io_error(t, rc, "receive");
}

const struct snet_layer tls_snet_layer = {
	.start = tls_start,
	.handshake = tls_handshake,
	.send = tls_send,
	.recv = tls_recv,
	.stop = tls_stop,
};

int tls_layer_reload(struct tls_layer *t)
{
	char err[512], mine[400];
	SSL_CTX *ctx = tls_make_ctx(t, err, sizeof(err));

	if (!ctx) {
		pr_warn("%s: certificates not reloaded: %s; the connection and the certificates in "
			"use stay\n", t->who, err);
		return -1;
	}
	SSL_CTX_free(t->fresh);
	t->fresh = ctx;
	tls_cert_text(SSL_CTX_get0_certificate(ctx), mine, sizeof(mine));
	pr_info("%s: certificates reloaded, client certificate %s (%s): reconnecting\n", t->who,
		mine, t->cert);
	return 0;
}

void tls_layer_free(struct tls_layer *t)
{
	if (!t)
		return;
	tls_stop(t, false);
	SSL_CTX_free(t->fresh);
	free(t->ca);
	free(t->cert);
	free(t->key);
	free(t->name);
	free(t);
}

struct tls_layer *tls_layer_new(const struct tls_opts *o, const char *host, const char *who,
				char *err, size_t errlen)
{
	struct tls_layer *t;
	unsigned char addr[16];
	const char *name = o->name && o->name[0] ? o->name : host;
	SSL_CTX *probe;

	if (!o->ca || !o->cert || !o->key) {
		snprintf(err, errlen, "TLS needs ca=, cert= and key= (mutual authentication)");
		return NULL;
	}
	t = nosig_init() ? NULL : calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	t->ca = strdup(o->ca);
	t->cert = strdup(o->cert);
	t->key = strdup(o->key);
	t->name = strdup(name);
	t->tls12 = o->allow_tls12;
	t->name_is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
	snprintf(t->who, sizeof(t->who), "%s", who);
	if (!t->ca || !t->cert || !t->key || !t->name) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		tls_layer_free(t);
		return NULL;
	}
	/* load everything once now: a wrong path or mode is an error at start */
	probe = tls_make_ctx(t, err, errlen);
	if (!probe) {
		tls_layer_free(t);
		return NULL;
	}
	SSL_CTX_free(probe);
	return t;
}
