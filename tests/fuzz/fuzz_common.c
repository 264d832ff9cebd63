// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Shared checks of the fuzz targets (see fuzz_common.h). */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "lpm_sim.h"

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==== WARD FUZZ PROPERTY VIOLATED ====\n");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	abort();
}

bool fuzz_known(const char *tok)
{
	const char *s = getenv("WARD_FUZZ_KNOWN");

	return s && (strstr(s, tok) || !strcmp(s, "all"));
}

bool fuzz_skip_known_input(const uint8_t *data, size_t size)
{
	json_t *root, *in, *out;
	bool skip;

	if (!fuzz_known("empty-rules"))
		return false;
	/* agent/policy_rules.c parse_rules: realloc(rules, 0) frees, then double free */
	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	in = json_object_get(root, "ingress");
	out = json_object_get(root, "egress");
	skip = json_is_array(in) && json_is_array(out) && !json_array_size(in) &&
	       !json_array_size(out);
	json_decref(root);
	return skip;
}

/* ---- RNG --------------------------------------------------------------------- */
uint64_t frng_next(struct frng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t frng_below(struct frng *r, uint32_t n)
{
	return n ? (uint32_t)(frng_next(r) % n) : 0;
}

bool frng_chance(struct frng *r, unsigned pct)
{
	return frng_below(r, 100) < pct;
}

uint64_t fuzz_hash(const uint8_t *data, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= data[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* ---- diagnostics ----------------------------------------------------------------- */
static bool pointer_syntax_ok(const char *p)
{
	if (!*p)
		return true;
	if (*p != '/')
		return false;
	for (; *p; p++)
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return false;
	return true;
}

/* Resolve an RFC 6901 pointer in doc; NULL when it names nothing. */
static json_t *pointer_get(json_t *doc, const char *p)
{
	char tok[4096];

	while (doc && *p == '/') {
		size_t n = 0;

		p++;
		while (*p && *p != '/' && n + 1 < sizeof(tok)) {
			if (*p == '~') {
				tok[n++] = p[1] == '0' ? '~' : '/';
				p += 2;
			} else {
				tok[n++] = *p++;
			}
		}
		if (*p && *p != '/')
			return NULL; /* token longer than we follow */
		tok[n] = '\0';
		if (json_is_object(doc)) {
			doc = json_object_get(doc, tok);
		} else if (json_is_array(doc)) {
			char *end;
			unsigned long i;

			if (!n || (tok[0] == '0' && n > 1) || tok[0] < '0' || tok[0] > '9')
				return NULL;
			i = strtoul(tok, &end, 10);
			if (*end)
				return NULL;
			doc = json_array_get(doc, i);
		} else {
			return NULL;
		}
	}
	return *p ? NULL : doc;
}

/* Byte offset of 1-based (line, col), or (size_t)-1 outside the text. */
static size_t offset_of(const char *text, size_t len, int line, int col)
{
	size_t off = 0;

	for (int l = 1; l < line; l++) {
		const char *nl = memchr(text + off, '\n', len - off);

		if (!nl)
			return (size_t)-1;
		off = nl - text + 1;
	}
	if (col < 1 || off + col - 1 > len)
		return (size_t)-1;
	return off + col - 1;
}

void fuzz_check_diags(const struct diags *d, const char *text, size_t len, bool locate)
{
	size_t nerr = 0, nwarn = 0;
	json_t *doc = NULL;
	char *buf = NULL;
	size_t blen = 0;
	FILE *mem;

	FUZZ_ASSERT(d->n == 0 || d->v, "diags: n=%zu but no vector", d->n);
	if (locate && text)
		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];

		FUZZ_ASSERT(g->pointer, "diag %zu: NULL pointer (reason %s)", i,
			    g->reason ? g->reason : "(null)");
		FUZZ_ASSERT(pointer_syntax_ok(g->pointer), "diag %zu: \"%s\" is not a JSON pointer", i,
			    g->pointer);
		FUZZ_ASSERT(g->reason && g->reason[0], "diag %zu (%s): no reason", i, g->pointer);
		FUZZ_ASSERT((g->line == 0) == (g->col == 0) && g->line >= 0 && g->col >= 0,
			    "diag %zu (%s: %s): bad position %d:%d", i, g->pointer, g->reason, g->line,
			    g->col);
		if (g->line && text)
			FUZZ_ASSERT(offset_of(text, len, g->line, g->col) != (size_t)-1,
				    "diag %zu (%s: %s): position %d:%d outside the %zu-byte text", i,
				    g->pointer, g->reason, g->line, g->col, len);
		if (g->warning)
			nwarn++;
		else
			nerr++;
		if (doc && g->pointer[0] && pointer_get(doc, g->pointer)) {
			size_t off;

			FUZZ_ASSERT(g->line > 0,
				    "diag %zu: \"%s\" names a value of the document but is not "
				    "located (reason: %s)",
				    i, g->pointer, g->reason);
			off = offset_of(text, len, g->line, g->col);
			FUZZ_ASSERT(off < len && strchr("{[\"-0123456789tfn", text[off]) && text[off],
				    "diag %zu: \"%s\" located at %d:%d where no JSON value starts "
				    "(reason: %s)",
				    i, g->pointer, g->line, g->col, g->reason);
		}
	}
	FUZZ_ASSERT(nerr == d->nerrors && nwarn == d->nwarnings,
		    "diags: counts %zu errors %zu warnings, flags say %zu / %zu", d->nerrors,
		    d->nwarnings, nerr, nwarn);
	json_decref(doc);
	mem = open_memstream(&buf, &blen);
	if (mem) {
		diags__print(d, "fuzz.json", mem);
		fclose(mem);
	}
	free(buf);
}

/* ---- compiled policy --------------------------------------------------------------- */
static int cmp_addr_key(const void *a, const void *b)
{
	return memcmp(&((const struct addr_entry *)a)->key, &((const struct addr_entry *)b)->key,
		      sizeof(struct ward_addr_key));
}

static int cmp_rule_key(const void *a, const void *b)
{
	return memcmp(&((const struct rule_entry *)a)->key, &((const struct rule_entry *)b)->key,
		      sizeof(struct ward_rule_key));
}

static bool bits_zero_from(const uint8_t *a, unsigned from, unsigned total)
{
	for (unsigned i = from; i < total; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

void fuzz_check_compiled(const struct policy *p, const struct compiled *c)
{
	struct addr_entry *a;
	struct rule_entry *r;

	FUZZ_ASSERT(c->nclasses >= 1, "compiled: nclasses %zu", c->nclasses);
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct ward_addr_key *k = &c->addrs[i].key;
		const struct ward_addr_val *v = &c->addrs[i].val;
		unsigned bits;
		bool end = false;

		if (k->family == WARD_FAM_ANY) {
			FUZZ_ASSERT(k->prefixlen == 0 && bits_zero_from(k->addr, 0, 128),
				    "addr entry %zu: family any with prefixlen %u", i, k->prefixlen);
		} else {
			FUZZ_ASSERT(k->family == WARD_FAM_V4 || k->family == WARD_FAM_V6,
				    "addr entry %zu: family %u", i, k->family);
			bits = k->family == WARD_FAM_V4 ? 32 : 128;
			FUZZ_ASSERT(k->prefixlen >= 8 && k->prefixlen <= 8 + bits,
				    "addr entry %zu: prefixlen %u for family %u", i, k->prefixlen,
				    k->family);
			FUZZ_ASSERT(bits_zero_from(k->addr, k->prefixlen - 8, 128),
				    "addr entry %zu: address bits past the prefix", i);
		}
		FUZZ_ASSERT(!k->pad[0] && !k->pad[1] && !k->pad[2], "addr entry %zu: pad", i);
		/* class 0 is legal: an except carved out of every term (the default decides) */
		FUZZ_ASSERT(v->class_id[0] < c->nclasses, "addr entry %zu: class %u of %zu", i,
			    v->class_id[0], c->nclasses);
		for (int j = 0; j < WARD_CLASS_CHAIN; j++) {
			FUZZ_ASSERT(v->class_id[j] < c->nclasses, "addr entry %zu: chain class %u", i,
				    v->class_id[j]);
			if (end)
				FUZZ_ASSERT(!v->class_id[j], "addr entry %zu: chain goes on after 0", i);
			end = end || !v->class_id[j];
		}
	}
	for (size_t i = 0; i < c->nrules; i++) {
		const struct ward_rule_key *k = &c->rules[i].key;
		const struct ward_rule_val *v = &c->rules[i].val;
		const struct rule *ru;
		uint32_t cls = ntohl(k->class_id);
		uint16_t port = ntohs(k->port);

		FUZZ_ASSERT(k->prefixlen == WARD_RULE_KEY_BITS_DIR ||
				    (k->prefixlen >= WARD_RULE_KEY_BITS_PROTO &&
				     k->prefixlen <= WARD_RULE_KEY_BITS_FULL),
			    "rule entry %zu: prefixlen %u", i, k->prefixlen);
		FUZZ_ASSERT(cls > 0 && cls < c->nclasses, "rule entry %zu: class %u of %zu", i, cls,
			    c->nclasses);
		FUZZ_ASSERT(k->dir < WARD_DIR_MAX, "rule entry %zu: dir %u", i, k->dir);
		if (k->prefixlen == WARD_RULE_KEY_BITS_DIR)
			FUZZ_ASSERT(!k->proto && !port, "rule entry %zu: bits past a 40-bit prefix", i);
		else
			FUZZ_ASSERT(k->prefixlen == 64 ||
					    !(port & ((1u << (64 - k->prefixlen)) - 1)),
				    "rule entry %zu: port %u not aligned to /%u", i, port, k->prefixlen);
		FUZZ_ASSERT(v->rule_idx < p->nrules, "rule entry %zu: rule %u of %zu", i, v->rule_idx,
			    p->nrules);
		ru = &p->rules[v->rule_idx];
		FUZZ_ASSERT(ru->dir == k->dir, "rule entry %zu: rule \"%s\" of the other direction", i,
			    ru->id);
		FUZZ_ASSERT(k->prefixlen == WARD_RULE_KEY_BITS_DIR ? ru->proto == POLICY_PROTO_ANY
				    : ru->proto == POLICY_PROTO_ANY || ru->proto == k->proto,
			    "rule entry %zu: rule \"%s\" (proto %d) under proto %u/%u", i, ru->id,
			    ru->proto, k->proto, k->prefixlen);
		FUZZ_ASSERT(v->action == ru->action, "rule entry %zu: action", i);
		FUZZ_ASSERT(v->flags == ((ru->audit ? WARD_RF_AUDIT : 0) | (ru->log ? WARD_RF_LOG : 0)),
			    "rule entry %zu: flags %#x", i, v->flags);
		FUZZ_ASSERT(v->rl_slot == ru->rate_limit + 1 && v->rl_slot <= p->nrate_limits,
			    "rule entry %zu: rate-limit slot %u", i, v->rl_slot);
	}
	/* the same key twice: the second map update silently replaces the first */
	if (c->naddrs > 1) {
		a = malloc(c->naddrs * sizeof(*a));
		FUZZ_ASSERT(a, "oom");
		memcpy(a, c->addrs, c->naddrs * sizeof(*a));
		qsort(a, c->naddrs, sizeof(*a), cmp_addr_key);
		for (size_t i = 1; i < c->naddrs; i++)
			FUZZ_ASSERT(cmp_addr_key(&a[i - 1], &a[i]), "two address entries with one key");
		free(a);
	}
	if (c->nrules > 1) {
		r = malloc(c->nrules * sizeof(*r));
		FUZZ_ASSERT(r, "oom");
		memcpy(r, c->rules, c->nrules * sizeof(*r));
		qsort(r, c->nrules, sizeof(*r), cmp_rule_key);
		for (size_t i = 1; i < c->nrules; i++)
			FUZZ_ASSERT(cmp_rule_key(&r[i - 1], &r[i]),
				    "two rule entries with one key (class %u dir %u proto %u port %u "
				    "/%u): rules %u and %u",
				    ntohl(r[i].key.class_id), r[i].key.dir, r[i].key.proto,
				    ntohs(r[i].key.port), r[i].key.prefixlen, r[i - 1].val.rule_idx,
				    r[i].val.rule_idx);
		free(r);
	}
	FUZZ_ASSERT(c->cfg.loaded == 1 && c->cfg.mode == p->mode &&
			    c->cfg.default_action[0] == p->defaults[0] &&
			    c->cfg.default_action[1] == p->defaults[1],
		    "compiled cfg does not mirror the policy");
}

/* ---- frame model -------------------------------------------------------------------- */
unsigned fuzz_lax_from_env(void)
{
	const char *s = getenv("WARD_FUZZ_LAX");
	unsigned lax = 0;

	if (!s)
		return 0;
	if (strstr(s, "all"))
		return FM_LAX_TCP_OPTIONS | FM_LAX_EXT_FIT;
	if (strstr(s, "tcp-options"))
		lax |= FM_LAX_TCP_OPTIONS;
	if (strstr(s, "ext-fit"))
		lax |= FM_LAX_EXT_FIT;
	return lax;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_ARP  0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define MAX_VLAN_TAGS  2 /* docs/policy.md: "Up to two VLAN tags are skipped" */
#define MAX_EXT_HDRS   6 /* "more than 6 IPv6 extension headers" are dropped   */

static void fm_set(struct fm_result *r, enum fm_class cls, const char *why)
{
	r->cls = cls;
	r->why = why;
}

bool fm_tcp_flags_illegal(uint8_t f)
{
	bool fin = f & 0x01, syn = f & 0x02, rst = f & 0x04, psh = f & 0x08, ack = f & 0x10,
	     urg = f & 0x20;

	/* "none of SYN, FIN, RST, ACK; SYN with FIN or RST; FIN with RST; FIN, PSH or
	 * URG without ACK" */
	return (!syn && !fin && !rst && !ack) || (syn && (fin || rst)) || (fin && rst) ||
	       ((fin || psh || urg) && !ack);
}

/*
 * docs/policy.md, Semantics 6, read literally: "Packets Ward cannot read
 * safely are dropped before the policy, in every mode: truncated or
 * inconsistent headers (IPv4 IHL < 5, total length < header, TCP data
 * offset < 5, a header that does not fit the frame), more than 6 IPv6
 * extension headers, and non-first fragments (their ports are unknown).
 * Ethertypes other than IPv4, IPv6 and ARP are dropped. Up to two VLAN tags
 * are skipped. An IPv4 total length or IPv6 payload length larger than the
 * frame is malformed (on egress a length of 0, which BIG TCP GSO packets of
 * the local stack carry, is accepted). TCP flag combinations no stack sends
 * are dropped (drop_tcp_flags): none of SYN, FIN, RST, ACK; SYN with FIN or
 * RST; FIN with RST; FIN, PSH or URG without ACK."
 *
 * Readings where the text leaves room: a header is the whole header (IPv4
 * with its options, an IPv6 extension header with its (hdrlen + 1) * 8
 * bytes, TCP with its options: data offset * 4, UDP 8 bytes, ICMP and
 * ICMPv6 8: type, code, checksum, identifier, sequence); the IP version
 * must match the ethertype; an IPv6 payload length of 0 on ingress (a
 * jumbogram) is malformed (the egress exception implies it); the l4 header
 * must fit the frame, not the IP length; the extension headers walked are
 * hop-by-hop (0), routing (43), fragment (44) and destination options (60),
 * anything else is the l4 protocol; TCP flags are judged after the header
 * checks.
 */
void frame_model(const uint8_t *f, size_t len, int dir, unsigned lax, struct fm_result *r)
{
	struct pkt_spec *s = &r->spec;
	bool egress = dir == WARD_DIR_EGRESS;
	size_t off;
	uint16_t et;
	uint8_t nh;

	memset(r, 0, sizeof(*r));
	r->alt_verdict = WARD_V_MAX;
	if (len < 14)
		return fm_set(r, FM_MALFORMED, "Ethernet header does not fit");
	et = be16(f + 12);
	off = 14;
	while (r->vlans < MAX_VLAN_TAGS && (et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ)) {
		if (off + 4 > len)
			return fm_set(r, FM_MALFORMED, "VLAN tag does not fit");
		et = be16(f + off + 2);
		off += 4;
		r->vlans++;
	}
	if (et == ETHERTYPE_ARP)
		return fm_set(r, FM_ARP, "ARP");
	if (et == ETHERTYPE_IPV4) {
		unsigned hlen, tot;

		if (off + 20 > len)
			return fm_set(r, FM_MALFORMED, "IPv4 header does not fit");
		if (f[off] >> 4 != 4)
			return fm_set(r, FM_MALFORMED, "IPv4 ethertype, IP version not 4");
		if ((f[off] & 15) < 5)
			return fm_set(r, FM_MALFORMED, "IPv4 IHL < 5");
		hlen = (f[off] & 15) * 4;
		if (off + hlen > len)
			return fm_set(r, FM_MALFORMED, "IPv4 options do not fit");
		tot = be16(f + off + 2);
		if (!(egress && tot == 0)) {
			if (tot < hlen)
				return fm_set(r, FM_MALFORMED, "IPv4 total length < header");
			if (tot > len - off)
				return fm_set(r, FM_MALFORMED, "IPv4 total length > frame");
		}
		s->family = WARD_FAM_V4;
		s->proto = f[off + 9];
		memcpy(s->src, f + off + 12, 4);
		memcpy(s->dst, f + off + 16, 4);
		if (be16(f + off + 6) & 0x1fff)
			return fm_set(r, FM_FRAGMENT, "IPv4 non-first fragment");
		off += hlen;
	} else if (et == ETHERTYPE_IPV6) {
		unsigned plen;

		if (off + 40 > len)
			return fm_set(r, FM_MALFORMED, "IPv6 header does not fit");
		if (f[off] >> 4 != 6)
			return fm_set(r, FM_MALFORMED, "IPv6 ethertype, IP version not 6");
		plen = be16(f + off + 4);
		if (!(egress && plen == 0)) {
			if (plen == 0)
				return fm_set(r, FM_MALFORMED, "IPv6 payload length 0 on ingress");
			if (plen > len - off - 40)
				return fm_set(r, FM_MALFORMED, "IPv6 payload length > frame");
		}
		s->family = WARD_FAM_V6;
		memcpy(s->src, f + off + 8, 16);
		memcpy(s->dst, f + off + 24, 16);
		nh = f[off + 6];
		off += 40;
		while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
			if (r->exthdrs == MAX_EXT_HDRS) {
				/* which reason a 7th header that is a non-first fragment
				 * gets is not said: both are drops before the policy */
				if (nh == 44 && off + 8 <= len && (be16(f + off + 2) & 0xfff8))
					r->alt_verdict = WARD_V_DROP_FRAGMENT;
				return fm_set(r, FM_MALFORMED, "more than 6 IPv6 extension headers");
			}
			r->exthdrs++;
			if (nh == 44) {
				if (off + 8 > len)
					return fm_set(r, FM_MALFORMED, "fragment header does not fit");
				nh = f[off];
				if (be16(f + off + 2) & 0xfff8) {
					s->proto = nh;
					return fm_set(r, FM_FRAGMENT, "IPv6 non-first fragment");
				}
				off += 8;
			} else {
				if (off + 2 > len)
					return fm_set(r, FM_MALFORMED, "extension header does not fit");
				if (!(lax & FM_LAX_EXT_FIT) && off + (f[off + 1] + 1u) * 8 > len)
					return fm_set(r, FM_MALFORMED,
						      "extension header longer than the frame");
				nh = f[off];
				off += (f[off + 1] + 1u) * 8;
			}
		}
		s->proto = nh;
	} else {
		return fm_set(r, FM_NON_IP, "ethertype other than IPv4, IPv6, ARP");
	}

	switch (s->proto) {
	case 6: /* TCP */
		if (off + 20 > len)
			return fm_set(r, FM_MALFORMED, "TCP header does not fit");
		if (f[off + 12] >> 4 < 5)
			return fm_set(r, FM_MALFORMED, "TCP data offset < 5");
		if (!(lax & FM_LAX_TCP_OPTIONS) && off + (f[off + 12] >> 4) * 4u > len)
			return fm_set(r, FM_MALFORMED, "TCP options do not fit");
		s->sport = be16(f + off);
		s->dport = be16(f + off + 2);
		s->tcp_flags = f[off + 13];
		if (fm_tcp_flags_illegal(s->tcp_flags))
			return fm_set(r, FM_TCP_FLAGS, "illegal TCP flags");
		break;
	case 17: /* UDP */
		if (off + 8 > len)
			return fm_set(r, FM_MALFORMED, "UDP header does not fit");
		s->sport = be16(f + off);
		s->dport = be16(f + off + 2);
		break;
	case 1:  /* ICMP */
	case 58: /* ICMPv6 */
		if (off + 8 > len)
			return fm_set(r, FM_MALFORMED, "ICMP header does not fit");
		s->dport = f[off];     /* type (ref_port_of: 0 across families) */
		s->sport = f[off + 1]; /* code */
		break;
	default:
		break; /* no header read: T = 0 */
	}
	r->l4off = off;
	fm_set(r, FM_OK, "decided by the policy");
}

uint8_t fm_verdict(enum fm_class cls)
{
	switch (cls) {
	case FM_ARP:
		return WARD_V_PASS_ARP;
	case FM_NON_IP:
		return WARD_V_DROP_NON_IP;
	case FM_FRAGMENT:
		return WARD_V_DROP_FRAGMENT;
	case FM_MALFORMED:
		return WARD_V_DROP_MALFORMED;
	case FM_TCP_FLAGS:
		return WARD_V_DROP_TCP_FLAGS;
	default:
		return WARD_V_MAX;
	}
}

const char *fm_class_name(enum fm_class cls)
{
	static const char *const n[] = { "OK", "ARP", "NON_IP", "MALFORMED", "FRAGMENT",
					 "TCP_FLAGS" };

	return cls <= FM_TCP_FLAGS ? n[cls] : "?";
}

void fuzz_hexdump(const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", f[i], (i % 16 == 15 || i + 1 == len) ? "\n" : " ");
}

/* ---- packets derived from a policy ---------------------------------------------------- */
static void addr_random(struct frng *rng, uint8_t fam, uint8_t a[16])
{
	memset(a, 0, 16);
	for (int i = 0; i < (fam == WARD_FAM_V4 ? 4 : 16); i++)
		a[i] = (uint8_t)frng_next(rng);
}

/* a +/- 1 over the first nbytes bytes (wraps) */
static void addr_step(uint8_t *a, int nbytes, int delta)
{
	for (int i = nbytes - 1; i >= 0; i--) {
		a[i] = (uint8_t)(a[i] + delta);
		if ((delta > 0 && a[i] != 0) || (delta < 0 && a[i] != 0xff))
			break;
	}
}

/* An address near or inside cidr c (family any: a random one). */
static void addr_near(struct frng *rng, const struct cidr *c, uint8_t *fam, uint8_t a[16])
{
	int bits, nbytes;

	if (c->family == WARD_FAM_ANY) {
		*fam = frng_chance(rng, 50) ? WARD_FAM_V4 : WARD_FAM_V6;
		addr_random(rng, *fam, a);
		return;
	}
	*fam = c->family;
	bits = c->family == WARD_FAM_V4 ? 32 : 128;
	nbytes = bits / 8;
	memcpy(a, c->addr, 16);
	switch (frng_below(rng, 6)) {
	case 0: /* first address */
		break;
	case 1: /* last address */
	case 4: /* just past the end */
		for (int i = c->len; i < bits; i++)
			a[i / 8] |= 0x80 >> (i % 8);
		if (frng_below(rng, 2) && c->len < bits)
			break;
		addr_step(a, nbytes, 1);
		break;
	case 2: /* inside */
	case 5:
		for (int i = c->len; i < bits; i++)
			if (frng_chance(rng, 50))
				a[i / 8] |= 0x80 >> (i % 8);
		break;
	case 3: /* just before the start */
		addr_step(a, nbytes, -1);
		break;
	}
}

static const struct cidr *pick_cidr(const struct policy *p, struct frng *rng)
{
	size_t n = 0, k;

	for (size_t t = 0; t < p->nterms; t++)
		n += p->terms[t].set.nincl + p->terms[t].set.nexcl;
	if (!n)
		return NULL;
	k = frng_below(rng, n);
	for (size_t t = 0; t < p->nterms; t++) {
		const struct addrset *s = &p->terms[t].set;

		if (k < s->nincl)
			return &s->incl[k];
		k -= s->nincl;
		if (k < s->nexcl)
			return &s->excl[k];
		k -= s->nexcl;
	}
	return NULL;
}

static uint16_t port_near(struct frng *rng, const struct rule *r, uint32_t max)
{
	const struct port_range *pr;

	if (!r || !r->nports || frng_chance(rng, 10))
		return (uint16_t)frng_below(rng, max + 1);
	pr = &r->ports[frng_below(rng, r->nports)];
	switch (frng_below(rng, 5)) {
	case 0:
		return pr->lo;
	case 1:
		return pr->hi;
	case 2:
		return pr->lo ? pr->lo - 1 : 0;
	case 3:
		return pr->hi < max ? pr->hi + 1 : pr->hi;
	default:
		return (uint16_t)(pr->lo + frng_below(rng, pr->hi - pr->lo + 1));
	}
}

size_t fuzz_derive_packets(const struct policy *p, struct frng *rng, struct fpkt *out,
			   size_t max)
{
	static const uint8_t other[] = { 6, 17, 1, 58, 47, 132, 50, 255, 59, 2 };

	for (size_t i = 0; i < max; i++) {
		struct fpkt *k = &out[i];
		const struct rule *r = p->nrules ? &p->rules[frng_below(rng, p->nrules)] : NULL;
		const struct cidr *c = pick_cidr(p, rng);
		struct cidr any = { .family = WARD_FAM_ANY };
		uint8_t *remote, *local, fam;
		int proto;

		memset(k, 0, sizeof(*k));
		k->dir = r && frng_chance(rng, 80) ? r->dir : (int)frng_below(rng, WARD_DIR_MAX);
		remote = k->dir == WARD_DIR_INGRESS ? k->s.src : k->s.dst;
		local = k->dir == WARD_DIR_INGRESS ? k->s.dst : k->s.src;
		if (r && r->nterms && frng_chance(rng, 50)) {
			const struct addrset *s = &p->terms[r->terms[frng_below(rng, r->nterms)]].set;
			size_t n = s->nincl + s->nexcl, j = frng_below(rng, n);

			if (n)
				c = j < s->nincl ? &s->incl[j] : &s->excl[j - s->nincl];
		}
		addr_near(rng, c && !frng_chance(rng, 5) ? c : &any, &fam, remote);
		k->s.family = fam;
		addr_random(rng, fam, local);
		proto = r && r->proto != POLICY_PROTO_ANY && frng_chance(rng, 75)
				? r->proto
				: frng_chance(rng, 80) ? other[frng_below(rng, sizeof(other))]
						       : (int)frng_below(rng, 256);
		/* an IPv6 next header the datapath walks is not a protocol pktgen can build */
		if (fam == WARD_FAM_V6 && (proto == 0 || proto == 43 || proto == 44 || proto == 60))
			proto = 59;
		k->s.proto = (uint8_t)proto;
		k->s.sport = (uint16_t)frng_next(rng);
		if (proto == 6 || proto == 17) {
			static const uint8_t flags[] = { 0 /* SYN */, 0x10, 0x12, 0x11, 0x18, 0x04,
							 0x14, 0x01, 0x03, 0x06, 0x29, 0xff, 0x08 };

			k->s.dport = port_near(rng, r && r->proto == proto ? r : NULL, 65535);
			if (proto == 6 && frng_chance(rng, 30))
				k->s.tcp_flags = flags[frng_below(rng, sizeof(flags))];
		} else if (proto == 1 || proto == 58) {
			k->s.sport = (uint16_t)frng_below(rng, 4); /* code */
			k->s.dport = frng_chance(rng, 10) ? 133 + frng_below(rng, 4)
							  : port_near(rng, r && r->proto == proto ? r : NULL, 255);
		}
	}
	return max;
}

/* ---- the datapath's lookup, in userspace (tests/lib/lpm_sim.c) ------------------------ */
void fuzz_sim_decide(const struct compiled *c, int dir, const struct pkt_spec *s,
		     struct ref_result *r)
{
	const struct ward_addr_val *av;
	const struct ward_rule_val *v;
	uint8_t action, flags = 0;
	uint32_t cls = 0;

	memset(r, 0, sizeof(*r));
	r->rule_idx = WARD_RULE_NONE;
	r->rate_limit = -1;
	/* pktgen sends SYN for tcp_flags 0 */
	if (s->proto == 6 && fm_tcp_flags_illegal(s->tcp_flags ? s->tcp_flags : 0x02)) {
		r->verdict = WARD_V_DROP_TCP_FLAGS;
		r->action = WARD_ACT_DENY;
		return;
	}
	if (s->family == WARD_FAM_V6 && s->proto == 58 && s->dport >= 133 && s->dport <= 136) {
		r->pass = 1;
		r->verdict = WARD_V_PASS_ND;
		r->action = WARD_ACT_ALLOW;
		return;
	}
	av = lpm_sim_classify(c, s->family, dir == WARD_DIR_INGRESS ? s->src : s->dst);
	v = lpm_sim_rule(c, av, (uint8_t)dir, s->proto, (uint16_t)ref_port_of(s), &cls);
	if (v) {
		r->rule_idx = v->rule_idx;
		action = v->action;
		flags = v->flags;
	} else {
		action = c->cfg.default_action[dir];
	}
	r->action = action;
	if (action == WARD_ACT_ALLOW) {
		r->pass = 1;
		r->verdict = v ? WARD_V_PASS_RULE : WARD_V_PASS_DEFAULT;
	} else if (c->cfg.mode == WARD_MODE_AUDIT || (flags & WARD_RF_AUDIT)) {
		r->pass = 1;
		r->audit = 1;
		r->verdict = WARD_V_PASS_AUDIT;
	} else {
		r->verdict = v ? WARD_V_DROP_RULE : WARD_V_DROP_DEFAULT;
	}
}

bool fuzz_same_result(const struct ref_result *a, const struct ref_result *b)
{
	return a->pass == b->pass && a->verdict == b->verdict && a->rule_idx == b->rule_idx &&
	       a->audit == b->audit;
}

void fuzz_print_result(const char *who, const struct policy *p, const struct ref_result *r)
{
	fprintf(stderr, "  %-9s pass=%d verdict=%s audit=%d rule=", who, r->pass,
		ref_verdict_name(r->verdict), r->audit);
	if (r->rule_idx == WARD_RULE_NONE)
		fprintf(stderr, "(default/none)\n");
	else if (p && r->rule_idx < p->nrules)
		fprintf(stderr, "%u \"%s\"\n", r->rule_idx, p->rules[r->rule_idx].id);
	else
		fprintf(stderr, "%u (out of range)\n", r->rule_idx);
}

void fuzz_print_pkt(const struct fpkt *k)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int af = k->s.family == WARD_FAM_V4 ? AF_INET : AF_INET6;

	inet_ntop(af, k->s.src, a, sizeof(a));
	inet_ntop(af, k->s.dst, b, sizeof(b));
	fprintf(stderr, "  packet: %s %s -> %s proto %u sport %u dport/type %u (T=%d)\n",
		k->dir == WARD_DIR_INGRESS ? "ingress" : "egress", a, b, k->s.proto, k->s.sport,
		k->s.dport, ref_port_of(&k->s));
}

void fuzz_check_sim(const struct policy *p, const struct compiled *c, struct frng *rng,
		    const char *src)
{
	struct fpkt pk[32];
	size_t n = fuzz_derive_packets(p, rng, pk, sizeof(pk) / sizeof(pk[0]));

	for (size_t i = 0; i < n; i++) {
		struct ref_result m, s;

		FUZZ_ASSERT(!ref_eval(p, pk[i].dir, &pk[i].s, &m), "ref_eval refused a packet");
		fuzz_sim_decide(c, pk[i].dir, &pk[i].s, &s);
		if (fuzz_same_result(&m, &s))
			continue;
		fprintf(stderr, "compiled entries (LPM simulated) disagree with the model:\n");
		fuzz_print_pkt(&pk[i]);
		fuzz_print_result("model", p, &m);
		fuzz_print_result("compiled", p, &s);
		fprintf(stderr, "--- policy ---\n%s\n", src ? src : "(none)");
		fuzz_fail("compiled entries decide %s rule %d, model %s rule %d",
			  ref_verdict_name(s.verdict), (int)s.rule_idx, ref_verdict_name(m.verdict),
			  (int)m.rule_idx);
	}
}
