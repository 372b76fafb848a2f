/*
 * history_schema - the DMARC history store's tables, one numbered migration
 * per schema version, in the dialects of SQLite and PostgreSQL (the logical
 * schema is the same; see SCHEMA in the history issue notes). history_db
 * applies them; nothing else knows the DDL.
 */
#ifndef AUTHMILTER_HISTORY_SCHEMA_H
#define AUTHMILTER_HISTORY_SCHEMA_H

#include <stdbool.h>

#define HISTORY_SCHEMA_VERSION 1
#define HISTORY_SCHEMA_KEY "schema_version"

/* the table every version lives in; created before any migration runs */
extern const char history_schema_meta_sql[];

/* the DDL that moves a store from version - 1 to version; NULL when out of range */
const char *history_schema_step(int version, bool postgresql);

#endif
