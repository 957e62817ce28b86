/*
 * migrations: the SQL files of migrations/, embedded at build time by
 * tools/embed-migrations.sh (build/<variant>/gen/migrations.c), in
 * ascending version order.  Read only by store.c.
 */
#ifndef OTAD_MIGRATIONS_H
#define OTAD_MIGRATIONS_H

#include <stddef.h>

struct store_migration {
	int version;        /* NNNN of migrations/NNNN_name.sql */
	const char *name;   /* "NNNN_name" */
	const char *sql;    /* the file's text */
	const char *sql_pg; /* migrations/postgresql/NNNN_name.sql, or NULL:
	                       the same text runs on PostgreSQL */
};

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

#endif
