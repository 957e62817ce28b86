/*
 * otactl_table: prints rows of text as aligned columns, as the listing
 * commands (images, token list) show them: a header line, then one line
 * per row, columns separated by two spaces, the last one not padded.
 */
#include "otactl_table.h"

#include <string.h>

void
otactl_table_print(FILE *f, size_t ncols, const char *const *header,
    char *const *cells, size_t nrows)
{
	size_t width[OTACTL_TABLE_MAX_COLS] = {0};
	size_t c, r, len;
	const char *s;

	if (ncols > OTACTL_TABLE_MAX_COLS)
		ncols = OTACTL_TABLE_MAX_COLS;
	for (c = 0; c < ncols; c++) {
		width[c] = strlen(header[c]);
		for (r = 0; r < nrows; r++) {
			len = strlen(cells[r * ncols + c]);
			if (len > width[c])
				width[c] = len;
		}
	}
	for (r = 0; r <= nrows; r++) {
		for (c = 0; c < ncols; c++) {
			s = r == 0 ? header[c] : cells[(r - 1) * ncols + c];
			if (c + 1 < ncols)
				fprintf(f, "%-*s  ", (int)width[c], s);
			else
				fprintf(f, "%s\n", s);
		}
	}
}
