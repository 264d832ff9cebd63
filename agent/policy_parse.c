// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Policy v1 JSON -> struct policy, every error located (docs/policy.md). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "json_pos.h"
#include "json_split.h"
#include "policy.h"
#include "policy_parse_util.h"

#define POLICY_MAX_BYTES (256u << 20) /* largest policy file read, bytes */

static const char *const top_keys[] = { "version", "name", "revision", "mode", "defaults",
					"groups", "rate_limits", "ingress", "egress",
					"description", NULL };
static const char *const default_keys[] = { "ingress", "egress", "log", NULL };
static const char *const group_keys[] = { "cidrs", "except", "description", NULL };
static const char *const rl_keys[] = { "pps", "burst", "bps", "bytes_burst", "cps", "cps_burst",
				       "key", "ipv4_prefix", "ipv6_prefix", "description", NULL };

static void parse_header(struct pctx *c, json_t *root)
{
	struct policy *p = c->p;
	json_t *v;
	long long n;

	check_keys(c, root, "", top_keys);
	v = json_object_get(root, "version");
	if (!v)
		perr(c, "", NULL, "missing required key \"version\"");
	else if (!json_is_integer(v))
		perr(c, "/version", v, "must be an integer");
	else if (json_integer_value(v) != 1)
		perr(c, "/version", v, "unsupported policy version (this ward reads version 1)");
	else
		p->version = 1;
	v = json_object_get(root, "name");
	if (!v)
		perr(c, "", NULL, "missing required key \"name\"");
	else
		p->name = get_name(c, v, "/name", false);
	v = json_object_get(root, "revision");
	if (v && get_int(c, v, "/revision", 0, INT64_MAX, &n) == 0)
		p->revision = n;
	v = json_object_get(root, "mode");
	if (v) {
		const char *modes[] = { "enforce", "audit", NULL };
		int m = get_enum(c, v, "/mode", modes);

		if (m >= 0)
			p->mode = m == 1 ? WARD_MODE_AUDIT : WARD_MODE_ENFORCE;
	}
}

static void parse_defaults(struct pctx *c, json_t *root)
{
	const char *acts[] = { "deny", "allow", NULL };
	const char *logs[] = { "none", "denied", "all", NULL };
	json_t *d = json_object_get(root, "defaults"), *v;
	int a;

	c->p->defaults[WARD_DIR_INGRESS] = WARD_ACT_DENY;
	c->p->defaults[WARD_DIR_EGRESS] = WARD_ACT_DENY;
	c->p->default_log = POLICY_LOG_DENIED;
	if (!d)
		return;
	if (!json_is_object(d)) {
		perr(c, "/defaults", d, "must be an object");
		return;
	}
	check_keys(c, d, "/defaults", default_keys);
	if ((v = json_object_get(d, "ingress")) && (a = get_enum(c, v, "/defaults/ingress", acts)) >= 0)
		c->p->defaults[WARD_DIR_INGRESS] = a;
	if ((v = json_object_get(d, "egress")) && (a = get_enum(c, v, "/defaults/egress", acts)) >= 0)
		c->p->defaults[WARD_DIR_EGRESS] = a;
	if ((v = json_object_get(d, "log")) && (a = get_enum(c, v, "/defaults/log", logs)) >= 0)
		c->p->default_log = a;
}

static void parse_group(struct pctx *c, const char *name, json_t *g)
{
	char ptr[PTR_MAX], sub[PTR_MAX];
	struct term *t;
	json_t *cidrs = g, *except = NULL;

	ptr_join(ptr, sizeof(ptr), "/groups", name);
	t = term_new(c);
	if (!t)
		return;
	t->name = strdup(name);
	valid_name(c, name, ptr, "group name");
	if (!strcmp(name, "any"))
		perr(c, ptr, NULL, "\"any\" is reserved and cannot name a group");
	if (json_is_object(g)) {
		check_keys(c, g, ptr, group_keys);
		cidrs = json_object_get(g, "cidrs");
		except = json_object_get(g, "except");
		if (!cidrs) {
			perr(c, ptr, NULL, "missing required key \"cidrs\"");
			return;
		}
		ptr_sub(sub, ptr, "cidrs");
	} else if (json_is_array(g)) {
		snprintf(sub, sizeof(sub), "%s", ptr);
	} else {
		perr(c, ptr, g, "a group is an array of CIDRs or an object with \"cidrs\"");
		return;
	}
	get_cidrs(c, cidrs, sub, &t->set.incl, &t->set.nincl);
	if (except) {
		ptr_sub(sub, ptr, "except");
		get_cidrs(c, except, sub, &t->set.excl, &t->set.nexcl);
		check_except(c, &t->set, except, sub);
	}
}

static void parse_groups(struct pctx *c, json_t *root)
{
	json_t *gs = json_object_get(root, "groups"), *g;
	const char *name;

	if (!gs)
		return;
	if (!json_is_object(gs)) {
		perr(c, "/groups", gs, "must be an object of named groups");
		return;
	}
	json_object_foreach(gs, name, g)
		parse_group(c, name, g);
	c->p->ngroups = c->p->nterms;
	for (size_t i = 0; i < c->p->ngroups; i++)
		(void)term_index(c, i);
}

static void parse_rate_limit(struct pctx *c, const char *name, json_t *o, struct rate_limit *r)
{
	const char *keys[] = { "source", NULL };
	char ptr[PTR_MAX], sub[PTR_MAX];
	long long n;
	json_t *v;

	ptr_join(ptr, sizeof(ptr), "/rate_limits", name);
	r->name = strdup(name);
	r->ipv4_prefix = 32;
	r->ipv6_prefix = 64;
	valid_name(c, name, ptr, "rate limit name");
	if (!json_is_object(o)) {
		perr(c, ptr, o, "a rate limit is an object");
		return;
	}
	check_keys(c, o, ptr, rl_keys);
#define RL_INT(key, lo, hi, field)                                                    \
	do {                                                                          \
		snprintf(sub, sizeof(sub), "%s/" key, ptr);                           \
		if ((v = json_object_get(o, key)) && !get_int(c, v, sub, lo, hi, &n)) \
			r->field = n;                                                 \
	} while (0)
	RL_INT("pps", 1, 1000000000LL, pps);
	RL_INT("burst", 1, 1000000000LL, burst);
	RL_INT("bps", 1, 1LL << 40, bps);
	RL_INT("bytes_burst", 1, 1LL << 40, bytes_burst);
	RL_INT("cps", 1, 1000000000LL, cps);
	RL_INT("cps_burst", 1, 1000000000LL, cps_burst);
	RL_INT("ipv4_prefix", 0, 32, ipv4_prefix);
	RL_INT("ipv6_prefix", 0, 128, ipv6_prefix);
#undef RL_INT
	if (!json_object_get(o, "pps"))
		perr(c, ptr, NULL, "missing required key \"pps\"");
	if (!r->burst)
		r->burst = r->pps;
	if (r->bps && !r->bytes_burst)
		r->bytes_burst = r->bps;
	if (r->cps && !r->cps_burst)
		r->cps_burst = r->cps;
	ptr_sub(sub, ptr, "key");
	if ((v = json_object_get(o, "key")))
		(void)get_enum(c, v, sub, keys);
}

static void parse_rate_limits(struct pctx *c, json_t *root)
{
	json_t *rs = json_object_get(root, "rate_limits"), *o;
	const char *name;
	size_t i = 0;

	if (!rs)
		return;
	if (!json_is_object(rs)) {
		perr(c, "/rate_limits", rs, "must be an object of named rate limits");
		return;
	}
	if (json_object_size(rs) >= WARD_MAX_RATE_LIMITS) {
		perr(c, "/rate_limits", NULL, "more than %d rate limits", WARD_MAX_RATE_LIMITS - 1);
		return;
	}
	c->p->rate_limits = calloc(json_object_size(rs), sizeof(*c->p->rate_limits));
	if (!c->p->rate_limits) {
		c->oom = true;
		return;
	}
	json_object_foreach(rs, name, o)
		parse_rate_limit(c, name, o, &c->p->rate_limits[i++]);
	c->p->nrate_limits = i;
}

static void sha256(const char *text, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	if (!EVP_Digest(text, len, out, &n, EVP_sha256(), NULL))
		memset(out, 0, 32);
}

/*
 * The document without its rule arrays, which stay spans of the text that
 * parse_rules() decodes one rule at a time: a policy of 100,000 rules never
 * exists as one JSON tree (time and memory). NULL when the text is not a
 * JSON object as the walk sees it: the caller then lets jansson say why.
 */
static json_t *load_top(const char *text, size_t len, struct json_span rules[WARD_DIR_MAX])
{
	json_t *root = json_object(), *key = NULL, *val;
	struct json_span k, v;
	struct json_walk w;
	int rc = -1;

	if (!root || json_walk_open(&w, text, json_span_all(text, len)) || w.close != '}')
		goto fail;
	while ((rc = json_walk_next(&w, &k, &v)) == 1) {
		const char *name;
		int dir;

		key = json_loadb(text + k.off, k.len, JSON_DECODE_ANY, NULL);
		name = json_string_value(key);
		if (!name || strlen(name) != json_string_length(key) ||
		    json_object_get(root, name))
			goto fail;
		dir = !strcmp(name, "ingress") ? WARD_DIR_INGRESS :
		      !strcmp(name, "egress")  ? WARD_DIR_EGRESS : -1;
		if (dir >= 0 && rules[dir].len)
			goto fail; /* a duplicate key */
		if (dir >= 0 && text[v.off] == '[') {
			rules[dir] = v;
		} else {
			val = json_loadb(text + v.off, v.len,
					 JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
			if (!val || json_object_set_new(root, name, val))
				goto fail;
		}
		json_decref(key);
		key = NULL;
	}
	if (rc == 0 && json_span_all(text + w.pos, len - w.pos).len == 0)
		return root;
fail:
	json_decref(key);
	json_decref(root);
	return NULL;
}

/* root: the document, its rule arrays in rules[] or in root itself.
 * -EAGAIN: a rule is not JSON (the caller starts again from jansson). */
static int parse_doc(const char *text, json_t *root, const struct json_span *rules,
		     struct policy *ret, struct diags *diags)
{
	struct pctx c = { .p = ret, .d = diags, .text = text };

	if (!json_is_object(root)) {
		perr(&c, "", root, "a policy is a JSON object");
	} else {
		parse_header(&c, root);
		parse_defaults(&c, root);
		parse_groups(&c, root);
		parse_rate_limits(&c, root);
		parse_rules(&c, root, rules[WARD_DIR_INGRESS], "ingress", WARD_DIR_INGRESS);
		parse_rules(&c, root, rules[WARD_DIR_EGRESS], "egress", WARD_DIR_EGRESS);
		if (!c.not_json)
			check_rules(&c);
	}
	json_decref(root);
	free(c.names);
	if (c.oom)
		diags__add(diags, false, "", NULL, "out of memory");
	return c.not_json ? -EAGAIN : 0;
}

/* owned: NULL, or text itself, which then becomes ret->src (freed on error). */
static int parse_src(char *owned, const char *text, size_t len, struct policy *ret,
		     struct diags *diags)
{
	struct json_span rules[WARD_DIR_MAX] = {};
	size_t n0 = diags->n;
	json_error_t jerr;
	json_t *root;

	memset(ret, 0, sizeof(*ret));
	root = load_top(text, len, rules);
	if (root && parse_doc(text, root, rules, ret, diags) != -EAGAIN)
		goto parsed;
	policy__free(ret);
	diags__truncate(diags, n0);
	memset(rules, 0, sizeof(rules));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		diags__add(diags, false, "", NULL, "invalid JSON: %s", jerr.text);
		diags->v[diags->n - 1].line = jerr.line > 0 ? jerr.line : 1;
		diags->v[diags->n - 1].col = jerr.column > 0 ? jerr.column : 1;
		free(owned);
		return -EINVAL;
	}
	(void)parse_doc(text, root, rules, ret, diags); /* a tree: no -EAGAIN */
parsed:
	sha256(text, len, ret->sha256);
	ret->src = owned ? owned : malloc(len + 1);
	if (owned) {
		ret->srclen = len;
	} else if (ret->src) {
		memcpy(ret->src, text, len);
		ret->src[len] = '\0';
		ret->srclen = len;
	} else {
		diags__add(diags, false, "", NULL, "out of memory");
	}
	json_pos__resolve(text, len, diags);
	diags__sort(diags);
	if (diags->nerrors) {
		policy__free(ret);
		return -EINVAL;
	}
	return 0;
}

int policy__parse(const char *text, size_t len, struct policy *ret, struct diags *diags)
{
	return parse_src(NULL, text, len, ret, diags);
}

int policy__parse_file(const char *path, struct policy *ret, struct diags *diags)
{
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0, r;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		diags__add(diags, false, "", NULL, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > POLICY_MAX_BYTES) {
		err = -EINVAL;
		diags__add(diags, false, "", NULL, "not a regular file of at most %u bytes",
			   POLICY_MAX_BYTES);
		goto out;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < st.st_size && (r = read(fd, buf + got, st.st_size - got)) > 0)
		got += r;
	if (got != st.st_size) {
		err = -EIO;
		diags__add(diags, false, "", NULL, "short read (file changed while reading?)");
		goto out;
	}
	buf[got] = '\0';
	err = parse_src(buf, buf, got, ret, diags); /* buf is the policy's now */
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

void policy__free(struct policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->src);
	for (size_t i = 0; i < p->nterms; i++) {
		free(p->terms[i].name);
		free(p->terms[i].set.incl);
		free(p->terms[i].set.excl);
	}
	free(p->terms);
	for (size_t i = 0; i < p->nrate_limits; i++)
		free(p->rate_limits[i].name);
	free(p->rate_limits);
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].id);
		free(p->rules[i].ports);
		free(p->rules[i].terms);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}
