// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The JSON writer of the record renderers and the facts OCSF and ECS both
 * derive from a record (addresses, protocol, counters by direction, rule).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "rec_json.h"

/* ,"key": in one pass: keys are short literals, and this runs some forty
 * times a record. */
void jb_key(struct jbuf *b, const char *key)
{
	char *p = b->p, *end = b->end;

	if (b->full)
		return;
	if (b->comma) {
		if (p == end)
			goto full;
		*p++ = ',';
	}
	b->comma = true;
	if (key) {
		if (p == end)
			goto full;
		*p++ = '"';
		while (*key) {
			if (p == end)
				goto full;
			*p++ = *key++;
		}
		if (end - p < 2)
			goto full;
		*p++ = '"';
		*p++ = ':';
	}
	b->p = p;
	return;
full:
	b->full = true;
}

static void jb_begin(struct jbuf *b, const char *key, const char *bracket)
{
	jb_key(b, key);
	jb_mem(b, bracket, 1);
	b->comma = false;
}

static void jb_end(struct jbuf *b, const char *bracket)
{
	jb_mem(b, bracket, 1);
	b->comma = true;
}

void jb_open(struct jbuf *b, const char *key)
{
	jb_begin(b, key, "{");
}

void jb_close(struct jbuf *b)
{
	jb_end(b, "}");
}

void jb_open_arr(struct jbuf *b, const char *key)
{
	jb_begin(b, key, "[");
}

void jb_close_arr(struct jbuf *b)
{
	jb_end(b, "]");
}

int jb_render(char *buf, size_t cap, const struct flow_record *r,
	      bool (*body)(struct jbuf *b, const struct flow_record *r))
{
	struct jbuf b;

	jb_init(&b, buf, cap);
	jb_open(&b, NULL);
	if (!body(&b, r))
		return -1;
	jb_close(&b);
	return jb_finish(&b);
}

static bool safe_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Escape s into the inside of a JSON string. Control bytes become \uXXXX
 * (or the short forms), and bytes that are not valid UTF-8 become U+FFFD:
 * a hostile interface name or error text must not make the line unparsable. */
static void jb_escaped(struct jbuf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n && !b->full) {
		size_t run = i;

		while (run < n && safe_byte(s[run]))
			run++;
		jb_mem(b, (const char *)s + i, run - i);
		if (run == n)
			break;
		i = run;
		unsigned char c = s[i];
		char esc[6] = { '\\', 0 };
		size_t len;

		switch (c) {
		case '"': esc[1] = '"'; jb_mem(b, esc, 2); i++; continue;
		case '\\': esc[1] = '\\'; jb_mem(b, esc, 2); i++; continue;
		case '\n': esc[1] = 'n'; jb_mem(b, esc, 2); i++; continue;
		case '\r': esc[1] = 'r'; jb_mem(b, esc, 2); i++; continue;
		case '\t': esc[1] = 't'; jb_mem(b, esc, 2); i++; continue;
		case '\b': esc[1] = 'b'; jb_mem(b, esc, 2); i++; continue;
		case '\f': esc[1] = 'f'; jb_mem(b, esc, 2); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jb_mem(b, esc, 6);
			i++;
			continue;
		}
		len = utf8_len(s + i, n - i);
		if (len) {
			jb_mem(b, (const char *)s + i, len);
			i += len;
		} else {
			jb_mem(b, "\\ufffd", 6);
			i++;
		}
	}
}

void jb_strn(struct jbuf *b, const char *key, const char *s, size_t n)
{
	jb_key(b, key);
	jb_mem(b, "\"", 1);
	jb_escaped(b, s, n);
	jb_mem(b, "\"", 1);
}

void jb_str3(struct jbuf *b, const char *key, const char *s1, const char *s2, const char *s3)
{
	jb_key(b, key);
	jb_mem(b, "\"", 1);
	jb_escaped(b, s1, strlen(s1));
	jb_escaped(b, s2, strlen(s2));
	jb_escaped(b, s3, strlen(s3));
	jb_mem(b, "\"", 1);
}

void jb_str(struct jbuf *b, const char *key, const char *s)
{
	jb_strn(b, key, s, strlen(s));
}

void jb_str_opt(struct jbuf *b, const char *key, const char *s)
{
	if (s && s[0])
		jb_str(b, key, s);
}

static size_t u64_text(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void jb_u64(struct jbuf *b, const char *key, uint64_t v)
{
	char t[20];
	size_t n = u64_text(t, v);

	jb_key(b, key);
	jb_mem(b, t, n);
}

void jb_u64_str(struct jbuf *b, const char *key, uint64_t v)
{
	char t[22];
	size_t n;

	t[0] = '"';
	n = u64_text(t + 1, v);
	t[n + 1] = '"';
	jb_key(b, key);
	jb_mem(b, t, n + 2);
}

void jb_bool(struct jbuf *b, const char *key, bool v)
{
	jb_key(b, key);
	jb_lit(b, v ? "true" : "false");
}

/* ---- record facts ------------------------------------------------------------ */

const char *rec_proto_name(uint8_t proto)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "ipv6-icmp";
	case 132: return "sctp";
	case 47: return "gre";
	case 50: return "esp";
	case 51: return "ah";
	default: return NULL;
	}
}

const char *rec_kind_name(enum rec_kind k)
{
	switch (k) {
	case REC_OPEN: return "open";
	case REC_CLOSE: return "close";
	case REC_TRAFFIC: return "traffic";
	case REC_REFUSE: return "refuse";
	case REC_RATE_LIMIT: return "rate_limit";
	case REC_AUDIT: return "audit";
	case REC_LOST: return "lost";
	case REC_POLICY: return "policy";
	case REC_AGENT: return "agent";
	}
	return "unknown";
}

const char *rec_end_name(enum rec_close_reason e)
{
	switch (e) {
	case REC_END_FIN: return "fin";
	case REC_END_RST: return "rst";
	case REC_END_IDLE: return "idle";
	case REC_END_EVICTED: return "evicted";
	case REC_END_REVOKED: return "revoked";
	case REC_END_NONE: break;
	}
	return NULL;
}

bool rec_is_network(const struct flow_record *r)
{
	return r->kind >= REC_OPEN && r->kind <= REC_AUDIT;
}

bool rec_is_aggregate(const struct flow_record *r)
{
	return r->kind == REC_REFUSE || r->kind == REC_RATE_LIMIT || r->kind == REC_AUDIT;
}

/* ICMP carries its type in dport: not a port to show as one. */
bool rec_has_ports(const struct flow_record *r)
{
	return r->proto == 6 || r->proto == 17 || r->proto == 132;
}

/* glibc's inet_ntop formats IPv4 through sprintf, slower than all the
 * rest of a record's numbers together. */
static void ipv4_text(const uint8_t *a, char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

void rec_addrs(const struct flow_record *r, char *src, char *dst)
{
	if (r->family != 6) {
		ipv4_text(r->src, src);
		ipv4_text(r->dst, dst);
		return;
	}
	if (!inet_ntop(AF_INET6, r->src, src, 46))
		snprintf(src, 46, "::");
	if (!inet_ntop(AF_INET6, r->dst, dst, 46))
		snprintf(dst, 46, "::");
}

void rec_traffic(const struct flow_record *r, struct rec_traffic *t)
{
	uint64_t pin = r->packets_in, pout = r->packets_out;
	bool ingress = r->dir == 0;

	/* Aggregates count packets in `count`, all in the record's direction. */
	if (rec_is_aggregate(r) && !pin && !pout) {
		if (ingress)
			pin = r->count;
		else
			pout = r->count;
	}
	/* The first packet went source -> destination: received when inbound. */
	t->pkts_fwd = ingress ? pin : pout;
	t->pkts_rev = ingress ? pout : pin;
	t->bytes_fwd = ingress ? r->bytes_in : r->bytes_out;
	t->bytes_rev = ingress ? r->bytes_out : r->bytes_in;
}

uint64_t rec_start_ms(const struct flow_record *r)
{
	return r->start_ms ? r->start_ms : r->time_ms;
}

uint64_t rec_end_ms(const struct flow_record *r)
{
	uint64_t e = r->end_ms ? r->end_ms : r->time_ms;

	return e < rec_start_ms(r) ? rec_start_ms(r) : e;
}

const char *rec_rule_uid(const struct flow_record *r, char *buf, size_t cap)
{
	if (r->is_default || !r->rule_id[0]) {
		snprintf(buf, cap, "default-%s", r->dir == 0 ? "ingress" : "egress");
		return buf;
	}
	return r->rule_id;
}

/* A number after "name=" in "uid=0 pid=123 via=SIGHUP"; -1 when absent. */
static long actor_field(const char *actor, const char *name)
{
	size_t n = strlen(name);
	const char *p = actor;

	while ((p = strstr(p, name))) {
		if ((p == actor || p[-1] == ' ') && p[n] == '=' && p[n + 1] >= '0' && p[n + 1] <= '9')
			return strtol(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

void jb_actor_ids(struct jbuf *b, const char *actor, const char *uid_key)
{
	long uid = actor_field(actor, "uid"), pid = actor_field(actor, "pid");

	if (uid >= 0) {
		jb_open(b, "user");
		jb_u64_str(b, uid_key, (uint64_t)uid);
		jb_close(b);
	}
	if (pid >= 0) {
		jb_open(b, "process");
		jb_u64(b, "pid", (uint64_t)pid);
		jb_close(b);
	}
}
