/* tsr-json.h: typed reads of JSON members and files, for the loaders of untrusted files
 *
 * Every loader checks a member's type before reading it (json-glib's getters would log a
 * critical on a wrong type); these helpers make that the one way to read.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

const char *tsr_json_get_string (JsonObject *object, const char *member);
gboolean tsr_json_get_uint (JsonObject *object, const char *member, guint64 max, guint64 *out);
gboolean tsr_json_get_bool (JsonObject *object, const char *member, gboolean *out);
char *tsr_read_file (const char *path, gsize *len, GError **error);
gboolean tsr_write_all (int fd, const void *data, gsize len);
gboolean tsr_link_unnamed (int fd, const char *dir, const char *hint, const char *final,
                           gboolean replace);
gboolean tsr_link_refused (int err);
gboolean tsr_tmpfile_refused (int err);

void tsr_json_set_int (JsonBuilder *builder, const char *member, gint64 value);
void tsr_json_set_double (JsonBuilder *builder, const char *member, double value);
void tsr_json_set_bool (JsonBuilder *builder, const char *member, gboolean value);
void tsr_json_set_string (JsonBuilder *builder, const char *member, const char *value);

G_END_DECLS
