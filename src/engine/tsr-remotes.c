/* tsr-remotes.c
 *
 * The file is read as untrusted input (it has a fuzz target): its values end up in SSH
 * connections and in shell commands on the hosts, so every field is checked for the form it
 * must have, and one that is not refuses the whole file, which is left as it is.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-remotes.h"
#include "tsr-cluster-config.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-json.h"

#include <string.h>

#define REMOTES_FORMAT  "tessera-remotes"
#define REMOTES_VERSION 1
#define MAX_REMOTES     256

void
tsr_remote_free (TsrRemote *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->user);
  g_free (r->host);
  g_free (r->key);
  g_free (r->node_id);
  g_free (r->remote_dir);
  g_free (r->tesserad);
  g_free (r->service);
  g_free (r);
}

/* Printable, no control characters, no leading '-' (never an option to ssh or a shell). */
static gboolean
is_plain_text (const char *s, gsize max)
{
  gsize len = s ? strlen (s) : 0;

  if (len == 0 || len > max || s[0] == '-' || !g_utf8_validate (s, len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if ((guchar)s[i] < 0x20 || s[i] == 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
optional_string (JsonObject *o, const char *member, char **out)
{
  JsonNode *node = json_object_get_member (o, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  *out = g_strdup (tsr_json_get_string (o, member));
  return *out != NULL;
}

/**
 * tsr_remotes_parse:
 *
 * Returns: (transfer full) (element-type TsrRemote): the remotes, or %NULL with
 * %TSR_ERROR_CORRUPT
 */
GPtrArray *
tsr_remotes_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GPtrArray) ret = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_remote_free);
  g_autoptr (GError) local_error = NULL;
  const char *why = NULL;
  JsonNode *root, *list;
  JsonObject *obj;
  JsonArray *array;
  guint64 v;

  if (len > G_MAXSSIZE || !json_parser_load_from_data (parser, data, len, &local_error))
    {
      why = "not JSON";
      goto fail;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      why = "not an object";
      goto fail;
    }
  obj = json_node_get_object (root);
  if (g_strcmp0 (tsr_json_get_string (obj, "format"), REMOTES_FORMAT) != 0 ||
      !tsr_json_get_uint (obj, "version", G_MAXINT, &v) || v != REMOTES_VERSION)
    {
      why = "format or version";
      goto fail;
    }
  list = json_object_get_member (obj, "remotes");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list) ||
      json_array_get_length (array = json_node_get_array (list)) > MAX_REMOTES)
    {
      why = "remotes";
      goto fail;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *el = json_array_get_element (array, i);
      TsrRemote *r;
      JsonObject *o;
      gboolean provisioned;

      if (!JSON_NODE_HOLDS_OBJECT (el))
        {
          why = "remote entry";
          goto fail;
        }
      o = json_node_get_object (el);
      r = g_new0 (TsrRemote, 1);
      g_ptr_array_add (ret, r);
      r->name = g_strdup (tsr_json_get_string (o, "name"));
      r->user = g_strdup (tsr_json_get_string (o, "user"));
      r->host = g_strdup (tsr_json_get_string (o, "host"));
      r->service = g_strdup (tsr_json_get_string (o, "service"));
      if (!tsr_cluster_node_id_is_valid (r->name) || tsr_remotes_find (ret, r->name) != r ||
          !is_plain_text (r->user, 255) || !is_plain_text (r->host, 255) ||
          !tsr_json_get_uint (o, "port", 65535, &v) || v == 0)
        {
          why = "name, user, host or port";
          goto fail;
        }
      r->port = v;
      if (!optional_string (o, "key", &r->key) || !optional_string (o, "node_id", &r->node_id) ||
          !optional_string (o, "remote_dir", &r->remote_dir) ||
          !optional_string (o, "tesserad", &r->tesserad) ||
          (r->key != NULL && !is_plain_text (r->key, 4096)))
        {
          why = "key, node_id, remote_dir or tesserad";
          goto fail;
        }
      provisioned =
          g_strcmp0 (r->service, "systemd") == 0 || g_strcmp0 (r->service, "process") == 0;
      if (!provisioned && g_strcmp0 (r->service, "none") != 0)
        {
          why = "service";
          goto fail;
        }
      /* A node Tessera started has all of these, in these forms; the paths are used in
       * commands on the host (quoted), and must be absolute. */
      if (provisioned &&
          (!tsr_segment_id_is_valid (r->node_id) || !is_plain_text (r->remote_dir, 4096) ||
           !g_path_is_absolute (r->remote_dir) || !is_plain_text (r->tesserad, 4096) ||
           !g_path_is_absolute (r->tesserad)))
        {
          why = "a provisioned remote without a valid node id, directory or program";
          goto fail;
        }
    }
  return g_steal_pointer (&ret);

fail:
  g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("The remotes file is damaged (%s)"), why);
  return NULL;
}

/**
 * tsr_remotes_load:
 *
 * Returns: (transfer full) (element-type TsrRemote): the remotes; none when @path does not
 * exist. A damaged file is an error and is left as it is.
 */
GPtrArray *
tsr_remotes_load (const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *data = NULL;
  GPtrArray *ret;
  gsize len;

  data = tsr_read_file (path, &len, &local_error);
  if (data == NULL)
    {
      if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
        return g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_remote_free);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  ret = tsr_remotes_parse (data, len, &local_error);
  if (ret == NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("%s: %s; it was left as it is"), path,
                 local_error->message);
  return ret;
}

static void
add_str (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* One remote as a JSON object (the file's form, and `remote list --json`). */
void
tsr_remote_to_json (JsonBuilder *b, const TsrRemote *r)
{
  json_builder_begin_object (b);
  add_str (b, "name", r->name);
  add_str (b, "user", r->user);
  add_str (b, "host", r->host);
  json_builder_set_member_name (b, "port");
  json_builder_add_int_value (b, r->port);
  add_str (b, "key", r->key);
  add_str (b, "node_id", r->node_id);
  add_str (b, "remote_dir", r->remote_dir);
  add_str (b, "tesserad", r->tesserad);
  add_str (b, "service", r->service);
  json_builder_end_object (b);
}

/* Saved atomically and durably, 0600. */
gboolean
tsr_remotes_save (GPtrArray *remotes, const char *path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  add_str (b, "format", REMOTES_FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, REMOTES_VERSION);
  json_builder_set_member_name (b, "remotes");
  json_builder_begin_array (b);
  for (guint i = 0; i < remotes->len; i++)
    tsr_remote_to_json (b, remotes->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, TRUE);
  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? TSR_ERROR_NO_SPACE
                       : TSR_ERROR_IO,
                   _ ("Cannot save %s: %s"), path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* Returns: (transfer none) (nullable) */
TsrRemote *
tsr_remotes_find (GPtrArray *remotes, const char *name)
{
  for (guint i = 0; i < remotes->len; i++)
    {
      TsrRemote *r = remotes->pdata[i];
      if (g_strcmp0 (r->name, name) == 0)
        return r;
    }
  return NULL;
}
