/* tsr-json.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-json.h"
#include "tsr-error.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* The member's string, or NULL when it is missing or not a string. */
const char *
tsr_json_get_string (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* An integer between 0 and @max; FALSE when missing, of another type, or out of range. */
gboolean
tsr_json_get_uint (JsonObject *object, const char *member, guint64 max, guint64 *out)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < 0 ||
      (guint64)json_node_get_int (node) > max)
    return FALSE;
  *out = (guint64)json_node_get_int (node);
  return TRUE;
}

gboolean
tsr_json_get_bool (JsonObject *object, const char *member, gboolean *out)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return FALSE;
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* A file's contents; a missing file is %TSR_ERROR_NOT_FOUND, other failures %TSR_ERROR_IO. */
char *
tsr_read_file (const char *path, gsize *len, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *data = NULL;

  if (!g_file_get_contents (path, &data, len, &local_error))
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                       ? TSR_ERROR_NOT_FOUND
                       : TSR_ERROR_IO,
                   "%s", local_error->message);
      return NULL;
    }
  return data;
}

/* Writes all of @data to @fd, across short writes and EINTR; errno says why it failed. */
gboolean
tsr_write_all (int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, MIN (len, (gsize)G_MAXSSIZE));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          errno = EIO;
          return FALSE;
        }
      p += n;
      len -= n;
    }
  return TRUE;
}

/**
 * tsr_link_unnamed:
 * @fd: a file opened with O_TMPFILE in @dir
 * @hint: the start of the temporary name used to replace a file (".@hint.XXXXXX")
 * @final: its name to be
 * @replace: replace a file already at @final, as rename() would; else fail with EEXIST
 *
 * Links an unnamed file in: until then a crash or a kill leaves nothing behind. errno says why
 * it failed; tsr_link_refused() tells whether unnamed files cannot be linked in here at all.
 */
gboolean
tsr_link_unnamed (int fd, const char *dir, const char *hint, const char *final, gboolean replace)
{
  char proc[32];

  g_snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (linkat (AT_FDCWD, proc, AT_FDCWD, final, AT_SYMLINK_FOLLOW) == 0)
    return TRUE;
  for (guint tries = 0; replace && errno == EEXIST && tries < 16; tries++)
    {
      g_autofree char *tmp =
          g_strdup_printf ("%s/.%s.%06x", dir, hint, g_random_int_range (0, 1 << 24));

      if (linkat (AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
        {
          int saved;

          if (g_rename (tmp, final) == 0)
            return TRUE;
          saved = errno;
          g_unlink (tmp);
          errno = saved;
          return FALSE;
        }
    }
  return FALSE;
}

/* Whether linkat() failing with @err says that unnamed files cannot be linked in here at all:
 * /proc is missing, or a sandbox or the file system refuses the link. */
gboolean
tsr_link_refused (int err)
{
  return err == EPERM || err == EACCES || err == EOPNOTSUPP || err == ENOSYS || err == EXDEV ||
         (err == ENOENT && !g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR));
}

/* Whether open(O_TMPFILE) failing with @err says that this file system has no unnamed files. */
gboolean
tsr_tmpfile_refused (int err)
{
  return err == EOPNOTSUPP || err == EISDIR || err == EINVAL;
}

/* Writers of one member each, for the JSON the engine builds. */
void
tsr_json_set_int (JsonBuilder *builder, const char *member, gint64 value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

void
tsr_json_set_double (JsonBuilder *builder, const char *member, double value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_double_value (builder, value);
}

void
tsr_json_set_bool (JsonBuilder *builder, const char *member, gboolean value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_boolean_value (builder, value);
}

/* A NULL @value is written as null. */
void
tsr_json_set_string (JsonBuilder *builder, const char *member, const char *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}
