/*
 * memtrim: hands the heap memory a burst of large requests freed back to
 * the system once the burst is over.  glibc keeps what a bulk request (a
 * megabyte of JSON, tens of thousands of nodes) freed in its arenas;
 * malloc_trim returns it, but trimming after every such request makes
 * the next one fault every page in again (a third of provisioning's CPU).
 * So a large request only notes that it ended, and one thread trims when
 * no other has ended for quiet_ms, and logs it (info: "heap trimmed").
 * The same thread also trims every period_ms (debug: "heap trimmed"
 * after=period): the steady churn of polls and of the poll-report
 * writer leaves small blocks freed in the threads' arenas, which a trim
 * (a few milliseconds) returns.  The large blocks of that churn (the
 * writer's batches) are their own mappings since memtrim_fix_threshold:
 * before it, at a million devices, they left 15-20 MiB freed but
 * resident within a minute, more than a trim could return.
 */
#ifndef OTAD_MEMTRIM_H
#define OTAD_MEMTRIM_H

struct memtrim;

/*
 * Fixes glibc's mmap threshold at its first value (128 KiB), before the
 * threads start.  Left to itself, glibc raises the threshold to the size
 * of each mmapped block freed (up to 32 MiB): after the first batch of
 * poll reports is freed, the next batches, request bodies and the device
 * cache's chunks all come from the threads' arenas, where what a burst
 * freed stays resident between the live blocks around it (7 MiB of a
 * 1M-device otad's 129 MiB peak in the lab, bench/README.md).  Fixed, a
 * block of 128 KiB or more is its own mapping, returned whole when freed.
 * Returns 0, or OTA_EINVAL when the allocator is not glibc's (a
 * sanitizer's: it keeps its own rules).
 */
int memtrim_fix_threshold(void);

/* Starts the trimming thread ("otad-memtrim"), which also trims every
 * period_ms.  Returns NULL (logged) when the thread or its lock cannot be
 * made.  Stop with memtrim_stop. */
struct memtrim *memtrim_start(int quiet_ms, int period_ms);

/* A large request just ended: trim quiet_ms from now, unless another
 * ends before then (which moves the trim again).  Thread-safe; t may be
 * NULL (nothing happens). */
void memtrim_note(struct memtrim *t);

/* Stops the thread (a pending trim is dropped) and frees t (NULL is
 * fine). */
void memtrim_stop(struct memtrim *t);

#endif
