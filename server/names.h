/*
 * names: the one check of otad's identifier alphabets: ASCII letters and
 * digits plus a few punctuation characters, 1..max of them.  Device ids,
 * hardware revisions and event ids use NAMES_ID_PUNCT; group and gateway
 * names NAMES_GROUP_PUNCT; API token names NAMES_TOKEN_PUNCT.  Pure.
 */
#ifndef OTAD_NAMES_H
#define OTAD_NAMES_H

#include <stddef.h>

#define NAMES_ID_PUNCT "._:-"
#define NAMES_GROUP_PUNCT "._-"
#define NAMES_TOKEN_PUNCT "._@-"

/* 1 when s[0..len) is 1..max characters, each an ASCII letter, digit or
 * one of punct (a NUL among them fails), else 0. */
int names_valid_len(const char *s, size_t len, size_t max, const char *punct);

/* The same for a NUL-terminated s (read at most max + 1 bytes). */
int names_valid(const char *s, size_t max, const char *punct);

#endif
