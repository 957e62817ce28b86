/*
 * otactl_table: aligned text tables, the human output of the list
 * commands.
 */
#ifndef OTACTL_TABLE_H
#define OTACTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

/*
 * Prints a table: the header line, then nrows rows of ncols cells each
 * (row-major in cells), aligned with two spaces between columns.  At most
 * OTACTL_TABLE_MAX_COLS columns.
 */
#define OTACTL_TABLE_MAX_COLS 12
void otactl_table_print(FILE *f, size_t ncols, const char *const *header,
    char *const *cells, size_t nrows);

#endif
