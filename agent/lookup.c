// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Compiler entries -> lookup tables.
 *
 * Addresses: every policy prefix, plus a marker on the search path to it at
 * each shorter length where the binary search must go longer; each entry
 * carries the chain of its best matching prefix. Ports: per (class, dir,
 * protocol) the aligned port prefixes (longest wins) over the protocol's
 * "any port" entry, else the class's any-protocol entry, as disjoint
 * sorted intervals. Both tables are two-choice hashes: a seed that leaves
 * an entry homeless is replaced, then the table doubled.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "lookup.h"

#define MAX_KICKS 512
#define SEEDS_PER_SIZE 8

static __u32 mask_word(__u32 v, unsigned len, unsigned i)
{
	unsigned at = 32 * i, bits = len > at ? len - at : 0;

	return bits >= 32 ? v : bits ? v & ~(0xffffffffu >> bits) : 0;
}

/* 16 network-order bytes -> host-order words masked to len bits */
static void words_of(const __u8 *addr, unsigned len, __u32 *w)
{
	for (unsigned i = 0; i < 4; i++) {
		__u32 raw;

		memcpy(&raw, addr + 4 * i, 4);
		w[i] = mask_word(ntohl(raw), len, i);
	}
}

static size_t pow2_at_least(size_t n)
{
	size_t s = 16;

	while (s < n)
		s <<= 1;
	return s;
}

/* ---- two-choice placement, shared by both tables ------------------------ */

struct cuckoo {
	void *slots;
	size_t esz, n;
	bool (*empty)(const void *e);
	__u64 (*hash)(__u64 seed, const void *e);
	__u64 seed;
};

static bool place(struct cuckoo *k, const void *e)
{
	unsigned char cur[64], tmp[64];
	__u64 h = k->hash(k->seed, e);
	size_t pos = WARD_HASH_IDX(h, 0, k->n), alt = WARD_HASH_IDX(h, 1, k->n);

	if (!k->empty((unsigned char *)k->slots + pos * k->esz) &&
	    k->empty((unsigned char *)k->slots + alt * k->esz))
		pos = alt;
	memcpy(cur, e, k->esz);
	for (int kick = 0; kick < MAX_KICKS; kick++) {
		unsigned char *s = (unsigned char *)k->slots + pos * k->esz;
		size_t p0;

		if (k->empty(s)) {
			memcpy(s, cur, k->esz);
			return true;
		}
		/* evict the occupant to its other slot */
		memcpy(tmp, s, k->esz);
		memcpy(s, cur, k->esz);
		memcpy(cur, tmp, k->esz);
		h = k->hash(k->seed, cur);
		p0 = WARD_HASH_IDX(h, 0, k->n);
		pos = pos == p0 ? WARD_HASH_IDX(h, 1, k->n) : p0;
	}
	return false;
}

/* Place n entries of esz bytes; 0, or -E2BIG when this seed and size fail. */
static int fill(struct cuckoo *k, const void *ents, size_t n)
{
	memset(k->slots, 0, k->n * k->esz);
	for (size_t i = 0; i < n; i++)
		if (!place(k, (const unsigned char *)ents + i * k->esz))
			return -E2BIG;
	return 0;
}

static bool atab_empty(const void *e)
{
	return !((const struct ward_atab_ent *)e)->tag;
}

static __u64 atab_hash(__u64 seed, const void *p)
{
	const struct ward_atab_ent *e = p;

	return ward_addr_hash(seed, e->tag, e->addr);
}

static bool ptab_empty(const void *e)
{
	return !((const struct ward_ptab_ent *)e)->class_id;
}

static __u64 ptab_hash(__u64 seed, const void *p)
{
	const struct ward_ptab_ent *e = p;

	return ward_ports_hash(seed, e->class_id, e->sel);
}

/* ---- addresses ------------------------------------------------------------ */

/* The entries being collected, with a plain open-addressing index. */
struct aset {
	struct ward_atab_ent *e;
	bool *prefix;
	size_t n, cap;
	__u32 *idx; /* entry + 1, 0 = free */
	size_t imask;
};

#define TAG_FAM(tag) ((__u8)((tag) >> 8))
#define TAG_LEN(tag) ((__u8)(tag))

static bool same_key(const struct ward_atab_ent *a, __u32 tag, const __u32 *w)
{
	return a->tag == tag && !memcmp(a->addr, w, 16);
}

static struct ward_atab_ent *aset_find(const struct aset *s, __u32 tag, const __u32 *w)
{
	for (size_t i = ward_addr_hash(0, tag, w) & s->imask;; i = (i + 1) & s->imask) {
		__u32 at = s->idx[i];

		if (!at)
			return NULL;
		if (same_key(&s->e[at - 1], tag, w))
			return &s->e[at - 1];
	}
}

/* Add (fam, len, w) unless present; the entry, or NULL when full. */
static struct ward_atab_ent *aset_add(struct aset *s, __u32 tag, const __u32 *w, bool prefix)
{
	size_t i = ward_addr_hash(0, tag, w) & s->imask;
	struct ward_atab_ent *e;

	for (; s->idx[i]; i = (i + 1) & s->imask)
		if (same_key(&s->e[s->idx[i] - 1], tag, w))
			return &s->e[s->idx[i] - 1];
	if (s->n == s->cap)
		return NULL;
	e = &s->e[s->n];
	memset(e, 0, sizeof(*e));
	e->tag = tag;
	memcpy(e->addr, w, 16);
	s->prefix[s->n] = prefix;
	s->idx[i] = ++s->n;
	return e;
}

/* Lengths [lo, hi] of the sorted list into a balanced tree at node i. */
static void tree_build(__u8 *tree, const __u8 *lens, int lo, int hi, unsigned i)
{
	int mid = lo + (hi - lo) / 2;

	if (lo > hi || i >= WARD_LEN_TREE)
		return;
	tree[i] = lens[mid];
	tree_build(tree, lens, lo, mid - 1, 2 * i + 1);
	tree_build(tree, lens, mid + 1, hi, 2 * i + 2);
}

/* Distinct prefix lengths of family fi, ascending; returns how many. */
static int lens_of(const bool used[129], __u8 *lens)
{
	int n = 0;

	for (int l = 1; l <= 128; l++)
		if (used[l])
			lens[n++] = (__u8)l;
	return n;
}

/* The chain of the longest policy prefix of length <= len holding w. */
static struct ward_addr_val best_prefix(const struct aset *s, const struct ward_lookup *hdr,
					__u8 fam, const __u8 *lens, int nlens, unsigned len,
					const __u32 *w)
{
	for (int i = nlens - 1; i >= 0; i--) {
		const struct ward_atab_ent *e;
		__u32 m[4];

		if (lens[i] > len)
			continue;
		for (unsigned j = 0; j < 4; j++)
			m[j] = mask_word(w[j], lens[i], j);
		e = aset_find(s, WARD_ATAB_TAG(fam, lens[i]), m);
		if (e && s->prefix[e - s->e])
			return e->bmp;
	}
	return hdr->any[WARD_FI(fam)];
}

static void aset_free(struct aset *s)
{
	free(s->e);
	free(s->prefix);
	free(s->idx);
	memset(s, 0, sizeof(*s));
}

/* Levels of a balanced search tree of n nodes. */
static unsigned levels(int n)
{
	unsigned l = 0;

	while (n > 0) {
		l++;
		n >>= 1;
	}
	return l;
}

/* Header (chains of /0, length trees, masks) and the policy's prefixes,
 * then the markers and the chain every entry carries. */
static int addrs_collect(const struct compiled *c, struct lookup_tables *t, struct aset *s)
{
	struct ward_addr_val any = {}, fam0[2] = {};
	bool has_any = false, has0[2] = { false, false }, used[2][129] = {};
	size_t nprefix = 0;
	__u8 lens[2][128];
	int nlens[2];

	for (size_t i = 0; i < c->naddrs; i++) {
		const struct ward_addr_key *k = &c->addrs[i].key;

		if (k->family == WARD_FAM_ANY) {
			any = c->addrs[i].val;
			has_any = true;
		} else if (k->prefixlen == 8) {
			fam0[WARD_FI(k->family)] = c->addrs[i].val;
			has0[WARD_FI(k->family)] = true;
		} else {
			used[WARD_FI(k->family)][k->prefixlen - 8] = true;
			nprefix++;
		}
	}
	for (unsigned len = 0; len <= 128; len++)
		for (unsigned j = 0; j < 4; j++)
			t->hdr.mask[len][j] = mask_word(0xffffffffu, len, j);
	for (int f = 0; f < 2; f++) {
		t->hdr.any[f] = has0[f] ? fam0[f] : has_any ? any : (struct ward_addr_val){};
		memset(t->hdr.tree[f], WARD_LEN_NONE, WARD_LEN_TREE);
		nlens[f] = lens_of(used[f], lens[f]);
		tree_build(t->hdr.tree[f], lens[f], 0, nlens[f] - 1, 0);
	}
	for (int f = 0; f < 2; f++)
		t->hdr.filter_len[f] = nlens[f] ? lens[f][0] : 0;
	/* each prefix adds at most one marker per level above its own */
	s->cap = nprefix * levels(nlens[0] > nlens[1] ? nlens[0] : nlens[1]) + 1;
	s->imask = pow2_at_least(2 * s->cap) - 1;
	s->e = calloc(s->cap, sizeof(*s->e));
	s->prefix = calloc(s->cap, sizeof(*s->prefix));
	s->idx = calloc(s->imask + 1, sizeof(*s->idx));
	if (!s->e || !s->prefix || !s->idx)
		return -ENOMEM;
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct ward_addr_key *k = &c->addrs[i].key;
		struct ward_atab_ent *e;
		__u32 w[4];

		if (k->family == WARD_FAM_ANY || k->prefixlen == 8)
			continue;
		words_of(k->addr, k->prefixlen - 8, w);
		e = aset_add(s, WARD_ATAB_TAG(k->family, k->prefixlen - 8), w, true);
		if (!e)
			return -E2BIG;
		e->bmp = c->addrs[i].val;
	}
	/* markers on each prefix's search path, where the search goes longer;
	 * the filter's bit of each prefix */
	for (size_t p = 0; p < nprefix; p++) {
		const struct ward_atab_ent pe = s->e[p];
		int f = WARD_FI(TAG_FAM(pe.tag));
		const __u8 *tree = t->hdr.tree[f];
		__u32 fw[4], bit;

		for (unsigned j = 0; j < 4; j++)
			fw[j] = mask_word(pe.addr[j], t->hdr.filter_len[f], j);
		bit = ward_fold16(fw);
		t->hdr.filter[f][bit / 64] |= 1ull << (bit % 64);

		for (unsigned i = 0; i < WARD_LEN_TREE && tree[i] != WARD_LEN_NONE;) {
			__u32 m[4];

			if (tree[i] == TAG_LEN(pe.tag))
				break;
			if (tree[i] > TAG_LEN(pe.tag)) {
				i = 2 * i + 1;
				continue;
			}
			for (unsigned j = 0; j < 4; j++)
				m[j] = mask_word(pe.addr[j], tree[i], j);
			if (!aset_add(s, WARD_ATAB_TAG(TAG_FAM(pe.tag), tree[i]), m, false))
				return -E2BIG;
			i = 2 * i + 2;
		}
	}
	for (size_t i = nprefix; i < s->n; i++) {
		__u8 fam = TAG_FAM(s->e[i].tag);
		int f = WARD_FI(fam);

		s->e[i].bmp = best_prefix(s, &t->hdr, fam, lens[f], nlens[f], TAG_LEN(s->e[i].tag),
					  s->e[i].addr);
	}
	t->naddr = s->n;
	t->nmarkers = s->n - nprefix;
	return 0;
}

/* ---- ports ---------------------------------------------------------------- */

static bool key_lt(const struct ward_rule_key *a, const struct ward_rule_key *b)
{
	__u32 ca = ntohl(a->class_id), cb = ntohl(b->class_id);
	int aa = a->prefixlen > WARD_RULE_KEY_BITS_DIR, ab = b->prefixlen > WARD_RULE_KEY_BITS_DIR;

	if (ca != cb)
		return ca < cb;
	if (a->dir != b->dir)
		return a->dir < b->dir;
	if (aa != ab) /* the any-protocol entry first */
		return aa < ab;
	if (a->proto != b->proto)
		return a->proto < b->proto;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port);
	return a->prefixlen < b->prefixlen; /* enclosing ranges first */
}

static int rule_cmp(const void *x, const void *y)
{
	const struct ward_rule_key *a = &(*(const struct rule_entry *const *)x)->key;
	const struct ward_rule_key *b = &(*(const struct rule_entry *const *)y)->key;

	return key_lt(a, b) ? -1 : key_lt(b, a) ? 1 : 0;
}

struct ivec {
	struct ward_ival *v;
	size_t n, cap;
};

/* Append [lo, hi] -> val (NULL: no hit), merged with an equal neighbour. */
static int emit(struct ivec *iv, size_t first, __u32 lo, __u32 hi, const struct ward_rule_val *val)
{
	struct ward_ival x = { .lo = (__u16)lo, .hit = val != NULL };

	if (lo > hi)
		return 0;
	if (val)
		x.val = *val;
	if (iv->n > first && iv->v[iv->n - 1].hit == x.hit &&
	    !memcmp(&iv->v[iv->n - 1].val, &x.val, sizeof(x.val)))
		return 0;
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? 2 * iv->cap : 1024;
		struct ward_ival *v = realloc(iv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = x;
	return 0;
}

/* One protocol's port prefixes r[0..n) (sorted by lo, enclosing first) over
 * base: disjoint intervals covering 0-65535, the innermost range winning. */
static int sweep(struct ivec *iv, struct rule_entry *const *r, size_t n,
		 const struct ward_rule_val *base)
{
	const struct rule_entry *stack[17];
	size_t first = iv->n, sp = 0;
	__u32 pos = 0;
	int err = 0;

#define HI(e) ((__u32)ntohs((e)->key.port) + (1u << (WARD_RULE_KEY_BITS_FULL - (e)->key.prefixlen)) - 1)
	for (size_t i = 0; i < n && !err; i++) {
		__u32 lo = ntohs(r[i]->key.port);

		while (sp && HI(stack[sp - 1]) < lo && !err) {
			const struct rule_entry *top = stack[--sp];

			err = emit(iv, first, pos, HI(top), &top->val);
			pos = HI(top) + 1;
		}
		if (!err && pos < lo)
			err = emit(iv, first, pos, lo - 1, sp ? &stack[sp - 1]->val : base);
		pos = lo;
		if (sp == 17)
			return -EINVAL; /* aligned prefixes nest at most 17 deep */
		stack[sp++] = r[i];
	}
	while (sp && !err) {
		const struct rule_entry *top = stack[--sp];

		err = emit(iv, first, pos, HI(top), &top->val);
		pos = HI(top) + 1;
	}
#undef HI
	if (!err && pos <= 65535)
		err = emit(iv, first, pos, 65535, base);
	return err;
}

static int add_list(struct ward_ptab_ent **pl, size_t *n, size_t *cap, __u32 cls, __u8 dir,
		    __u8 proto, __u8 any, size_t first, size_t count)
{
	if (*n == *cap) {
		size_t c2 = *cap ? 2 * *cap : 1024;
		struct ward_ptab_ent *p = realloc(*pl, c2 * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*pl = p;
		*cap = c2;
	}
	(*pl)[(*n)++] = (struct ward_ptab_ent){ .class_id = cls,
						 .sel = WARD_PTAB_SEL(dir, proto, any),
						 .first = (__u32)first, .count = (__u32)count };
	return 0;
}

static int ports_collect(const struct compiled *c, struct ivec *iv, struct ward_ptab_ent **pl,
			 size_t *npl)
{
	struct rule_entry **r = malloc((c->nrules ? c->nrules : 1) * sizeof(*r));
	size_t cap = 0, i = 0;
	int err = 0;

	if (!r)
		return -ENOMEM;
	for (size_t j = 0; j < c->nrules; j++)
		r[j] = &c->rules[j];
	qsort(r, c->nrules, sizeof(*r), rule_cmp);
	while (i < c->nrules && !err) {
		const struct ward_rule_key *k0 = &r[i]->key;
		const struct ward_rule_val *any = NULL;
		__u32 cls = ntohl(k0->class_id);
		__u8 dir = k0->dir;

		if (k0->prefixlen == WARD_RULE_KEY_BITS_DIR) {
			any = &r[i++]->val;
			err = emit(iv, iv->n, 0, 65535, any);
			if (!err)
				err = add_list(pl, npl, &cap, cls, dir, 0, 1, iv->n - 1, 1);
		}
		while (!err && i < c->nrules && ntohl(r[i]->key.class_id) == cls &&
		       r[i]->key.dir == dir) {
			__u8 proto = r[i]->key.proto;
			const struct ward_rule_val *base = any;
			size_t j, first = iv->n;

			if (r[i]->key.prefixlen == WARD_RULE_KEY_BITS_PROTO)
				base = &r[i++]->val;
			j = i;
			while (j < c->nrules && ntohl(r[j]->key.class_id) == cls &&
			       r[j]->key.dir == dir && r[j]->key.proto == proto)
				j++;
			err = sweep(iv, r + i, j - i, base);
			if (!err)
				err = add_list(pl, npl, &cap, cls, dir, proto, 0, first, iv->n - first);
			i = j;
		}
	}
	free(r);
	return err;
}

/* ---- both ------------------------------------------------------------------ */

/* Slots for n entries: at most 45 % full, where two-choice placement
 * almost always succeeds at the first seed. */
static size_t slots_for(size_t n)
{
	return n < 8 ? 16 : n * 20 / 9 + 1;
}

int lookup__build(const struct compiled *c, struct lookup_tables *t)
{
	struct aset s = {};
	struct ivec iv = {};
	struct ward_ptab_ent *pl = NULL;
	size_t npl = 0, asz, psz;
	int err;

	memset(t, 0, sizeof(*t));
	err = addrs_collect(c, t, &s);
	/* the index only served the collection */
	free(s.idx);
	free(s.prefix);
	s.idx = NULL;
	s.prefix = NULL;
	if (!err)
		err = ports_collect(c, &iv, &pl, &npl);
	asz = slots_for(s.n);
	psz = slots_for(npl);
	for (int attempt = 0; !err; attempt++) {
		struct cuckoo a = { .esz = sizeof(*t->atab), .empty = atab_empty, .hash = atab_hash };
		struct cuckoo p = { .esz = sizeof(*t->ptab), .empty = ptab_empty, .hash = ptab_hash };

		if (attempt == 4 * SEEDS_PER_SIZE) {
			err = -E2BIG;
			break;
		}
		if (!t->atab || (attempt && attempt % SEEDS_PER_SIZE == 0)) {
			if (attempt) {
				asz = asz * 3 / 2;
				psz = psz * 3 / 2;
			}
			free(t->atab);
			free(t->ptab);
			t->atab = malloc(asz * sizeof(*t->atab));
			t->ptab = malloc(psz * sizeof(*t->ptab));
			if (!t->atab || !t->ptab) {
				err = -ENOMEM;
				break;
			}
		}
		t->hdr.seed = 0x77617264ull * (attempt + 1) ^ 0x243f6a8885a308d3ull;
		t->hdr.addr_slots = (__u32)asz;
		t->hdr.ports_slots = (__u32)psz;
		a.slots = t->atab;
		a.n = asz;
		a.seed = t->hdr.seed;
		p.slots = t->ptab;
		p.n = psz;
		p.seed = t->hdr.seed;
		if (!fill(&a, s.e, s.n) && !fill(&p, pl, npl))
			break;
	}
	aset_free(&s);
	free(pl);
	t->ivals = iv.v;
	t->nivals = iv.n;
	t->nports = npl;
	if (err)
		lookup__free(t);
	return err;
}

void lookup__free(struct lookup_tables *t)
{
	free(t->atab);
	free(t->ptab);
	free(t->ivals);
	memset(t, 0, sizeof(*t));
}

/* ---- the datapath's lookups, in C ----------------------------------------- */

static const struct ward_atab_ent *atab_probe(const struct lookup_tables *t, __u32 tag,
					      const __u32 *w)
{
	__u64 h = ward_addr_hash(t->hdr.seed, tag, w);

	for (int k = 0; k < 2; k++) {
		const struct ward_atab_ent *e = &t->atab[WARD_HASH_IDX(h, k, t->hdr.addr_slots)];

		if (same_key(e, tag, w))
			return e;
	}
	return NULL;
}

const struct ward_addr_val *lookup__classify(const struct lookup_tables *t, __u8 family,
					     const __u8 addr[16])
{
	const struct ward_addr_val *best = &t->hdr.any[WARD_FI(family)];
	const __u8 *tree = t->hdr.tree[WARD_FI(family)];
	unsigned i = 0, bit;
	__u32 fw[4];

	words_of(addr, t->hdr.filter_len[WARD_FI(family)], fw);
	bit = ward_fold16(fw);
	if (!(t->hdr.filter[WARD_FI(family)][bit / 64] & (1ull << (bit % 64))))
		return best;

	for (int step = 0; step < WARD_LEN_STEPS && i < WARD_LEN_TREE; step++) {
		const struct ward_atab_ent *e;
		__u32 w[4];

		if (tree[i] == WARD_LEN_NONE)
			break;
		words_of(addr, tree[i], w);
		e = atab_probe(t, WARD_ATAB_TAG(family, tree[i]), w);
		best = e ? &e->bmp : best;
		i = e ? 2 * i + 2 : 2 * i + 1;
	}
	return best;
}

static const struct ward_ptab_ent *ptab_probe(const struct lookup_tables *t, __u32 cls,
					      __u32 sel)
{
	__u64 h = ward_ports_hash(t->hdr.seed, cls, sel);

	for (int k = 0; k < 2; k++) {
		const struct ward_ptab_ent *e = &t->ptab[WARD_HASH_IDX(h, k, t->hdr.ports_slots)];

		if (e->class_id == cls && e->sel == sel)
			return e;
	}
	return NULL;
}

const struct ward_rule_val *lookup__rule(const struct lookup_tables *t,
					 const struct ward_addr_val *av, __u8 dir, __u8 proto,
					 __u16 port, __u32 *ret_class)
{
	for (int i = 0; i < WARD_CLASS_CHAIN && av->class_id[i]; i++) {
		__u32 c = av->class_id[i], base, n;
		const struct ward_ptab_ent *e = ptab_probe(t, c, WARD_PTAB_SEL(dir, proto, 0));

		if (!e)
			e = ptab_probe(t, c, WARD_PTAB_SEL(dir, 0, 1));
		if (!e)
			continue;
		for (base = e->first, n = e->count; n > 1; n -= n / 2)
			if (t->ivals[base + n / 2].lo <= port)
				base += n / 2;
		if (t->ivals[base].hit) {
			*ret_class = c;
			return &t->ivals[base].val;
		}
	}
	return NULL;
}
