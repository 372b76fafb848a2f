/*
 * history_schema - DDL of the history store, one step per schema version.
 *
 * A step is applied once, inside the migration's transaction, so it may
 * hold several statements. Never edit a released step: add the next one.
 */
#include "history_schema.h"

#include <stddef.h>

const char history_schema_meta_sql[] =
	"CREATE TABLE IF NOT EXISTS history_meta ("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL)";

/* The message columns, shared by both dialects after the id column. */
#define MESSAGE_COLUMNS \
	" received BIGINT NOT NULL, mta TEXT NOT NULL, source_ip TEXT NOT NULL," \
	" header_from TEXT NOT NULL, envelope_from TEXT NOT NULL, envelope_to TEXT," \
	" helo TEXT NOT NULL, policy_domain TEXT NOT NULL, discovery TEXT NOT NULL," \
	" p TEXT NOT NULL, sp TEXT, np TEXT, adkim TEXT NOT NULL, aspf TEXT NOT NULL," \
	" testing TEXT NOT NULL, pct INTEGER, fo TEXT, rua TEXT, ruf TEXT," \
	" dmarc_result TEXT NOT NULL, dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL," \
	" disposition TEXT NOT NULL, override_type TEXT, override_comment TEXT," \
	" spf_domain TEXT, spf_scope TEXT, spf_result TEXT NOT NULL," \
	" failure_fo TEXT, failure_headers TEXT, failure_body TEXT)"

/* history_dkim and the indexes; the primary key also serves the cascade */
#define DKIM_AND_INDEXES \
	"CREATE TABLE history_dkim (" \
	" message_id BIGINT NOT NULL REFERENCES history_message(id) ON DELETE CASCADE," \
	" seq INTEGER NOT NULL, domain TEXT NOT NULL, selector TEXT NOT NULL," \
	" result TEXT NOT NULL, human TEXT, PRIMARY KEY (message_id, seq));" \
	"CREATE INDEX history_message_domain ON history_message (policy_domain, received);" \
	"CREATE INDEX history_message_received ON history_message (received);"

static const char v1_sqlite[] =
	"CREATE TABLE history_message (id INTEGER PRIMARY KEY," MESSAGE_COLUMNS ";"
	DKIM_AND_INDEXES;

static const char v1_postgresql[] =
	"CREATE TABLE history_message (id BIGSERIAL PRIMARY KEY," MESSAGE_COLUMNS ";"
	DKIM_AND_INDEXES;

/* history_schema_step - DDL from version - 1 to version in one dialect */
const char *
history_schema_step(int version, bool postgresql)
{
	switch (version) {
	case 1:
		return postgresql ? v1_postgresql : v1_sqlite;
	default:
		return NULL;
	}
}
