/* tsr-json-reader.h: a pull parser for the JSON files Tessera writes itself (internal)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How deep values nested inside skipped members may go. */
#define TSR_JSON_READER_MAX_DEPTH 64

typedef struct
{
  const char *start, *p, *end;
  GString *str; /* the string last read, unescaped */
} TsrJsonReader;

void tsr_json_reader_skip_space (TsrJsonReader *r);
gboolean tsr_json_reader_accept (TsrJsonReader *r, char c);
gboolean tsr_json_reader_read_string (TsrJsonReader *r);
gboolean tsr_json_reader_read_uint (TsrJsonReader *r, guint64 max, guint64 *out);
gboolean tsr_json_reader_skip_value (TsrJsonReader *r, guint depth);
gboolean tsr_json_reader_read_key (TsrJsonReader *r, char *key, gsize key_size);
gboolean tsr_json_reader_at_end (TsrJsonReader *r);

G_END_DECLS
