/*
 * fuzz: what every harness under fuzz/ shares.  A harness defines
 * LLVMFuzzerTestOneInput for one parser of untrusted input and checks
 * invariants of what the parser returns (bounds, round trips, orders),
 * not only that it does not crash.  It is linked either with libFuzzer
 * (make fuzz, clang) or with replay_main.c (make fuzz-replay, gcc), which
 * feeds it the committed corpus.  A broken invariant aborts, so both
 * report it as a crash.
 */
#ifndef OTAD_FUZZ_H
#define OTAD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the file, line and the broken condition when cond is 0. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* 1 when err[0..errlen) holds a NUL-terminated string. */
static inline int
fuzz_terminated(const char *err, size_t errlen)
{
	for (size_t i = 0; i < errlen; i++)
		if (err[i] == '\0')
			return 1;
	return 0;
}

#endif
