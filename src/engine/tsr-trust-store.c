/* tsr-trust-store.c
 *
 * The file is rewritten whole on every change, under the mutex, so the last save always
 * records the latest state. A file that does not parse is an error and is never replaced:
 * saving over it with what we could read would silently drop peers the user trusted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-trust-store.h"
#include "tsr-error.h"
#include "tsr-hash.h"

#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>

struct _TsrTrustStore
{
  GObject parent_instance;

  char *path; /* NULL for an in-memory store */

  GMutex mutex;        /* protects @entries and serialises saves */
  GHashTable *entries; /* id -> name */
};

G_DEFINE_FINAL_TYPE (TsrTrustStore, tsr_trust_store, G_TYPE_OBJECT)

static void
tsr_trust_store_finalize (GObject *object)
{
  TsrTrustStore *self = TSR_TRUST_STORE (object);

  g_free (self->path);
  g_hash_table_unref (self->entries);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (tsr_trust_store_parent_class)->finalize (object);
}

static void
tsr_trust_store_class_init (TsrTrustStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_trust_store_finalize;
}

static void
tsr_trust_store_init (TsrTrustStore *self)
{
  g_mutex_init (&self->mutex);
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * tsr_trust_store_new:
 *
 * Returns: (transfer full): an empty store that lives in memory only
 */
TsrTrustStore *
tsr_trust_store_new (void)
{
  return g_object_new (TSR_TYPE_TRUST_STORE, NULL);
}

static gboolean
is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_STRING;
}

/* One error exit, as for every parser. Unknown members are ignored, for newer versions. */
static gboolean
parse_trusted (const char *data, gsize len, GHashTable *entries, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *why = NULL;
  JsonNode *root, *node;
  JsonArray *array;

  if (len > G_MAXSSIZE || !json_parser_load_from_data (parser, data, len, &local_error))
    {
      why = g_strdup_printf ("not JSON: %s",
                             local_error != NULL ? local_error->message : "far too large");
      goto fail;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      why = g_strdup ("not a JSON object");
      goto fail;
    }
  node = json_object_get_member (json_node_get_object (root), "trusted");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      why = g_strdup ("\"trusted\" is missing or not a list");
      goto fail;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *entry;
      JsonNode *id, *name;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          why = g_strdup_printf ("entry %u is not an object", i);
          goto fail;
        }
      entry = json_node_get_object (element);
      id = json_object_get_member (entry, "id");
      name = json_object_get_member (entry, "name");
      if (!is_string (id) || !tsr_segment_id_is_valid (json_node_get_string (id)))
        {
          why = g_strdup_printf ("entry %u has no valid id", i);
          goto fail;
        }
      if (name != NULL && !is_string (name))
        {
          why = g_strdup_printf ("the name of entry %u is not a string", i);
          goto fail;
        }
      g_hash_table_insert (entries, g_strdup (json_node_get_string (id)),
                           g_strdup (name != NULL ? json_node_get_string (name) : ""));
    }
  return TRUE;

fail:
  g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, "%s", why);
  return FALSE;
}

/**
 * tsr_trust_store_load:
 * @path: the JSON file; a missing file (or directory) is created on the first add
 *
 * Returns: (transfer full): the store, or %NULL with %TSR_ERROR_CORRUPT when the file is
 * malformed (it is then left untouched), or an I/O error
 */
TsrTrustStore *
tsr_trust_store_load (const char *path, GError **error)
{
  g_autoptr (TsrTrustStore) self = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  self = tsr_trust_store_new ();
  self->path = g_strdup (path);

  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&self);
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot read the trusted identities: %s"),
                   local_error->message);
      return NULL;
    }
  if (!parse_trusted (data, len, self->entries, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("The trusted identities in %s are damaged (%s). The file was left as it is: "
                      "repair it or restore it from a backup"),
                   path, local_error->message);
      return NULL;
    }
  return g_steal_pointer (&self);
}

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Called with the mutex held. */
static GPtrArray *
sorted_ids_locked (TsrTrustStore *self)
{
  GPtrArray *ids = g_ptr_array_new_full (g_hash_table_size (self->entries), g_free);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (ids, g_strdup (key));
  g_ptr_array_sort (ids, compare_ids);
  return ids;
}

/* Called with the mutex held. Sorted, so that the file diffs cleanly. */
static gboolean
save_locked (TsrTrustStore *self, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *data = NULL;
  gsize len;

  if (self->path == NULL)
    return TRUE;

  ids = sorted_ids_locked (self);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "trusted");
  json_builder_begin_array (b);
  for (guint i = 0; i < ids->len; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, ids->pdata[i]);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, g_hash_table_lookup (self->entries, ids->pdata[i]));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  data = json_generator_to_data (gen, &len);

  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), dir);
      return FALSE;
    }
  if (!g_file_set_contents_full (self->path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? TSR_ERROR_NO_SPACE
                       : TSR_ERROR_IO,
                   _ ("Cannot save the trusted identities: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_id (const char *id, GError **error)
{
  if (!tsr_segment_id_is_valid (id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("Invalid identity id: expected 64 lowercase hex characters"));
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_trust_store_add:
 * @id: an identity id (64 lowercase hex characters)
 * @name: (nullable): a label for the user, such as "laptop"
 *
 * Trusts @id, or renames it when it is already trusted, and saves a file-backed store.
 * When the save fails the store is left as it was.
 */
gboolean
tsr_trust_store_add (TsrTrustStore *self, const char *id, const char *name, GError **error)
{
  gpointer old_key = NULL, old_name = NULL;
  gboolean had, ok;

  g_return_val_if_fail (TSR_IS_TRUST_STORE (self), FALSE);

  if (!check_id (id, error))
    return FALSE;

  g_mutex_lock (&self->mutex);
  had = g_hash_table_steal_extended (self->entries, id, &old_key, &old_name);
  g_hash_table_insert (self->entries, g_strdup (id), g_strdup (name != NULL ? name : ""));
  ok = save_locked (self, error);
  if (ok)
    {
      g_free (old_key);
      g_free (old_name);
    }
  else if (had)
    g_hash_table_replace (self->entries, old_key, old_name);
  else
    g_hash_table_remove (self->entries, id);
  g_mutex_unlock (&self->mutex);
  return ok;
}

/**
 * tsr_trust_store_remove:
 *
 * Stops trusting @id and saves a file-backed store. Returns %FALSE with
 * %TSR_ERROR_NOT_FOUND when @id was not trusted.
 */
gboolean
tsr_trust_store_remove (TsrTrustStore *self, const char *id, GError **error)
{
  gpointer key = NULL, value = NULL;
  gboolean ok;

  g_return_val_if_fail (TSR_IS_TRUST_STORE (self), FALSE);

  if (!check_id (id, error))
    return FALSE;

  g_mutex_lock (&self->mutex);
  if (!g_hash_table_steal_extended (self->entries, id, &key, &value))
    {
      g_mutex_unlock (&self->mutex);
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("Identity %s is not trusted"), id);
      return FALSE;
    }
  ok = save_locked (self, error);
  if (ok)
    {
      g_free (key);
      g_free (value);
    }
  else
    g_hash_table_insert (self->entries, key, value);
  g_mutex_unlock (&self->mutex);
  return ok;
}

/**
 * tsr_trust_store_contains:
 * @id: (nullable): a candidate id, possibly a peer's
 *
 * Returns: whether @id is trusted; %FALSE for anything that is not a valid id
 */
gboolean
tsr_trust_store_contains (TsrTrustStore *self, const char *id)
{
  gboolean ret;

  g_return_val_if_fail (TSR_IS_TRUST_STORE (self), FALSE);

  if (!tsr_segment_id_is_valid (id))
    return FALSE;
  g_mutex_lock (&self->mutex);
  ret = g_hash_table_contains (self->entries, id);
  g_mutex_unlock (&self->mutex);
  return ret;
}

/**
 * tsr_trust_store_list:
 *
 * Returns: (transfer full) (element-type utf8): the trusted ids, sorted
 */
GPtrArray *
tsr_trust_store_list (TsrTrustStore *self)
{
  GPtrArray *ids;

  g_return_val_if_fail (TSR_IS_TRUST_STORE (self), NULL);

  g_mutex_lock (&self->mutex);
  ids = sorted_ids_locked (self);
  g_mutex_unlock (&self->mutex);
  return ids;
}

/**
 * tsr_trust_store_reload:
 *
 * Reads a file-backed store's file again, so that a running daemon picks up identities that
 * `tesserad trust` added from another process. A damaged file leaves the store as it was.
 */
gboolean
tsr_trust_store_reload (TsrTrustStore *self, GError **error)
{
  g_autoptr (TsrTrustStore) fresh = NULL;
  GHashTable *old;

  g_return_val_if_fail (TSR_IS_TRUST_STORE (self), FALSE);

  if (self->path == NULL)
    return TRUE;
  fresh = tsr_trust_store_load (self->path, error);
  if (fresh == NULL)
    return FALSE;
  g_mutex_lock (&self->mutex);
  old = self->entries;
  self->entries = g_steal_pointer (&fresh->entries);
  fresh->entries = old;
  g_mutex_unlock (&self->mutex);
  return TRUE;
}
