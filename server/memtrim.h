/*
 * memtrim: hands the heap memory a burst of large requests freed back to
 * the system once the burst is over.  glibc keeps what a bulk request (a
 * megabyte of JSON, tens of thousands of nodes) freed in its arenas;
 * malloc_trim returns it, but trimming after every such request makes
 * the next one fault every page in again (a third of provisioning's CPU).
 * So a large request only notes that it ended, and one thread trims when
 * no other has ended for quiet_ms, and logs it (info: "heap trimmed").
 * The same thread also trims every period_ms (debug: "heap trimmed"
 * after=period): at a million devices the steady churn of polls and of
 * the poll-report writer (buffers that grow for a burst of reports, pages
 * read and dropped) leaves 15-20 MiB freed but resident in the threads'
 * arenas within a minute, which a trim (a few milliseconds) returns.
 */
#ifndef OTAD_MEMTRIM_H
#define OTAD_MEMTRIM_H

struct memtrim;

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
