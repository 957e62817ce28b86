/*
 * semver: Semantic Versioning 2.0.0 validation and precedence.  A version
 * is split into spans of the caller's bytes (never copied, never converted
 * to integers), so numeric identifiers of any length compare exactly: by
 * length first, then by bytes, which is numeric order once leading zeros
 * are ruled out.  Pure: no I/O, no globals, no allocation.
 */
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "semver.h"

/* "18446744073709551615", UINT64_MAX: the largest major/minor/patch. */
static const char semver_u64_max[] = "18446744073709551615";

/* Spans of one valid version inside the caller's buffer. */
struct semver_parts {
	const char *core[3]; /* major, minor, patch */
	size_t core_len[3];
	const char *pre; /* pre-release without the '-', NULL when absent */
	size_t pre_len;
};

static int
semver_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
semver_is_ident_char(unsigned char c)
{
	return semver_is_digit(c) || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z') || c == '-';
}

static int
semver_all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!semver_is_digit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Scans one major/minor/patch number at s[*pos..len): "0" or a digit
 * string without a leading zero that fits in a uint64_t.
 */
static int
semver_scan_core(
    const char *s, size_t len, size_t *pos, const char **out, size_t *out_len)
{
	size_t start = *pos, n;

	while (*pos < len && semver_is_digit((unsigned char)s[*pos]))
		(*pos)++;
	n = *pos - start;
	if (n == 0 || (n > 1 && s[start] == '0'))
		return OTA_EINVAL;
	if (n > sizeof(semver_u64_max) - 1)
		return OTA_EINVAL;
	if (n == sizeof(semver_u64_max) - 1 &&
	    memcmp(s + start, semver_u64_max, n) > 0)
		return OTA_EINVAL;
	*out = s + start;
	*out_len = n;
	return 0;
}

/*
 * Scans dot-separated identifiers at s[*pos..len) up to the end or to
 * 'stop' ('+' after a pre-release, none after build metadata).  Each
 * identifier is non-empty [0-9A-Za-z-]; with no_leading_zero, an all-digit
 * identifier must not start with '0' unless it is "0" (pre-release rule).
 */
static int
semver_scan_idents(
    const char *s, size_t len, size_t *pos, int stop, int no_leading_zero)
{
	for (;;) {
		size_t start = *pos, n;

		while (
		    *pos < len && semver_is_ident_char((unsigned char)s[*pos]))
			(*pos)++;
		n = *pos - start;
		if (n == 0)
			return OTA_EINVAL;
		if (no_leading_zero && n > 1 && s[start] == '0' &&
		    semver_all_digits(s + start, n))
			return OTA_EINVAL;
		if (*pos == len || (unsigned char)s[*pos] == stop)
			return 0;
		if (s[*pos] != '.')
			return OTA_EINVAL;
		(*pos)++;
	}
}

/* Validates s[0..len) and, when valid, fills out with its spans. */
static int
semver_parse(const char *s, size_t len, struct semver_parts *out)
{
	size_t pos = 0;

	if (s == NULL || len == 0 || len > SEMVER_MAX_LEN)
		return OTA_EINVAL;
	for (int i = 0; i < 3; i++) {
		if (semver_scan_core(
		        s, len, &pos, &out->core[i], &out->core_len[i]) != 0)
			return OTA_EINVAL;
		if (i < 2) {
			if (pos == len || s[pos] != '.')
				return OTA_EINVAL;
			pos++;
		}
	}
	out->pre = NULL;
	out->pre_len = 0;
	if (pos < len && s[pos] == '-') {
		size_t start = ++pos;

		if (semver_scan_idents(s, len, &pos, '+', 1) != 0)
			return OTA_EINVAL;
		out->pre = s + start;
		out->pre_len = pos - start;
	}
	if (pos < len && s[pos] == '+') {
		pos++;
		/* Build metadata: leading zeros allowed, no further '+'. */
		if (semver_scan_idents(s, len, &pos, -1, 0) != 0)
			return OTA_EINVAL;
	}
	return pos == len ? 0 : OTA_EINVAL;
}

/* Orders two digit strings without leading zeros numerically. */
static int
semver_cmp_numeric(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/* Orders byte strings lexically, a proper prefix first. */
static int
semver_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

/* Spec item 11.4.1-3: one pre-release identifier against another. */
static int
semver_cmp_ident(const char *a, size_t alen, const char *b, size_t blen)
{
	int anum = semver_all_digits(a, alen);
	int bnum = semver_all_digits(b, blen);

	if (anum && bnum)
		return semver_cmp_numeric(a, alen, b, blen);
	if (anum != bnum)
		return anum ? -1 : 1;
	return semver_cmp_bytes(a, alen, b, blen);
}

/* Spec item 11.3-4: pre-release fields of two versions with equal cores. */
static int
semver_cmp_pre(const struct semver_parts *a, const struct semver_parts *b)
{
	size_t ai = 0, bi = 0;

	if (a->pre == NULL || b->pre == NULL) {
		if (a->pre == b->pre)
			return 0;
		return a->pre == NULL ? 1 : -1;
	}
	for (;;) {
		size_t as = ai, bs = bi;
		int c;

		while (ai < a->pre_len && a->pre[ai] != '.')
			ai++;
		while (bi < b->pre_len && b->pre[bi] != '.')
			bi++;
		c = semver_cmp_ident(
		    a->pre + as, ai - as, b->pre + bs, bi - bs);
		if (c != 0)
			return c;
		if (ai == a->pre_len || bi == b->pre_len) {
			/* The larger set of fields wins. */
			if (ai == a->pre_len && bi == b->pre_len)
				return 0;
			return ai == a->pre_len ? -1 : 1;
		}
		ai++;
		bi++;
	}
}

/*
 * Checks that s[0..len) is a valid SemVer 2.0.0 version that otad accepts
 * (see semver.h).  s need not be NUL-terminated; s may be NULL only when
 * len is 0.  Returns 0 or OTA_EINVAL.  Pure and thread-safe.
 */
int
semver_check(const char *s, size_t len)
{
	struct semver_parts p;

	return semver_parse(s, len, &p);
}

/*
 * Compares a[0..alen) and b[0..blen) by SemVer precedence, returning <0, 0
 * or >0.  Build metadata is ignored, so distinct strings can compare equal.
 * Invalid strings sort after every valid one and among themselves by bytes
 * (shorter prefix first), which keeps this a total order.  Pure and
 * thread-safe.
 */
int
semver_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct semver_parts pa, pb;
	int aok = semver_parse(a, alen, &pa) == 0;
	int bok = semver_parse(b, blen, &pb) == 0;

	if (!aok || !bok) {
		if (aok != bok)
			return aok ? -1 : 1;
		return semver_cmp_bytes(a, alen, b, blen);
	}
	for (int i = 0; i < 3; i++) {
		int c = semver_cmp_numeric(
		    pa.core[i], pa.core_len[i], pb.core[i], pb.core_len[i]);

		if (c != 0)
			return c;
	}
	return semver_cmp_pre(&pa, &pb);
}

/*
 * The sort key's alphabet.  At the first byte where two keys differ both
 * are at the same place of the same structure (equal bytes before it mean
 * equal structure), so only these choices decide the order:
 *   a number is its length in three digits, then its digits;
 *   after the core, a release's '~' is above every pre-release field;
 *   a pre-release field starts with '#' (numeric) below '$' (other), and
 *   the list ends with '!', below both: fewer fields sort first;
 *   an alphanumeric field ends with ',', below every identifier byte
 *   ([0-9A-Za-z-]), so a proper prefix sorts first.
 */
#define SEMVER_KEY_RELEASE '~'
#define SEMVER_KEY_NUMERIC '#'
#define SEMVER_KEY_ALNUM '$'
#define SEMVER_KEY_END '!'
#define SEMVER_KEY_ALNUM_END ','

/* A key under construction: out[cap], len bytes used, ok until full. */
struct semver_key {
	char *out;
	size_t cap;
	size_t len;
	int ok;
};

static void
semver_key_put(struct semver_key *k, const char *p, size_t n)
{
	/* Keep one byte for the NUL. */
	if (!k->ok || n >= k->cap - k->len) {
		k->ok = 0;
		return;
	}
	memcpy(k->out + k->len, p, n);
	k->len += n;
}

/* A digit string without leading zeros: its length (< 1000), digits. */
static void
semver_key_number(struct semver_key *k, const char *p, size_t n)
{
	char len[3] = {(char)('0' + n / 100 % 10), (char)('0' + n / 10 % 10),
	    (char)('0' + n % 10)};

	semver_key_put(k, len, sizeof(len));
	semver_key_put(k, p, n);
}

int
semver_sort_key(const char *v, char *out, size_t outlen)
{
	struct semver_key k = {out, outlen, 0, 1};
	struct semver_parts p;
	size_t i = 0;

	if (outlen == 0)
		return OTA_ERANGE;
	out[0] = '\0';
	if (v == NULL || semver_parse(v, strlen(v), &p) != 0)
		return OTA_EINVAL;
	for (int c = 0; c < 3; c++)
		semver_key_number(&k, p.core[c], p.core_len[c]);
	if (p.pre == NULL)
		semver_key_put(&k, &(char){SEMVER_KEY_RELEASE}, 1);
	while (p.pre != NULL && i <= p.pre_len) {
		size_t start = i;

		while (i < p.pre_len && p.pre[i] != '.')
			i++;
		if (semver_all_digits(p.pre + start, i - start)) {
			semver_key_put(&k, &(char){SEMVER_KEY_NUMERIC}, 1);
			semver_key_number(&k, p.pre + start, i - start);
		} else {
			semver_key_put(&k, &(char){SEMVER_KEY_ALNUM}, 1);
			semver_key_put(&k, p.pre + start, i - start);
			semver_key_put(&k, &(char){SEMVER_KEY_ALNUM_END}, 1);
		}
		i++; /* past the '.', or past the end */
	}
	if (p.pre != NULL)
		semver_key_put(&k, &(char){SEMVER_KEY_END}, 1);
	if (!k.ok) {
		out[0] = '\0';
		return OTA_ERANGE;
	}
	out[k.len] = '\0';
	return 0;
}
