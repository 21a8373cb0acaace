/* tsr-cluster-config.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-cluster-config.h"
#include "tsr-chunker.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-json.h"
#include "tsr-segment-store.h"

#include <json-glib/json-glib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FORMAT  "tessera-cluster"
#define CONFIG_VERSION 1

static void
node_config_free (TsrNodeConfig *n)
{
  g_free (n->node_id);
  g_free (n->host);
  g_free (n->identity);
  g_free (n);
}

static TsrClusterConfig *
config_new (void)
{
  TsrClusterConfig *c = g_new0 (TsrClusterConfig, 1);

  c->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify)node_config_free);
  return c;
}

void
tsr_cluster_config_free (TsrClusterConfig *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->nodes);
  g_free (c);
}

/* The seed's default: embedded nodes Node_01.. on 127.0.0.1, each with the same capacity. */
TsrClusterConfig *
tsr_cluster_config_new_default (guint n_nodes, guint64 capacity, guint32 chunk_size, guint replicas)
{
  TsrClusterConfig *c = config_new ();

  c->chunk_size = chunk_size;
  c->replicas = replicas;
  for (guint i = 0; i < n_nodes; i++)
    {
      TsrNodeConfig *n = g_new0 (TsrNodeConfig, 1);
      n->node_id = g_strdup_printf ("Node_%02u", i + 1);
      n->embedded = TRUE;
      n->host = g_strdup ("127.0.0.1");
      n->capacity = capacity;
      n->enabled = TRUE;
      tsr_netem_settings_init_off (&n->netem);
      g_ptr_array_add (c->nodes, n);
    }
  return c;
}

TsrNodeConfig *
tsr_cluster_config_find (const TsrClusterConfig *c, const char *node_id)
{
  for (guint i = 0; i < c->nodes->len; i++)
    {
      TsrNodeConfig *n = c->nodes->pdata[i];
      if (g_strcmp0 (n->node_id, node_id) == 0)
        return n;
    }
  return NULL;
}

/* Letters, digits, '_', '-' and '.', at most 64, not starting with '.': safe as a directory
 * name for embedded nodes. */
gboolean
tsr_cluster_node_id_is_valid (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '_' && id[i] != '-' && id[i] != '.')
      return FALSE;
  return id[0] != '.';
}

TsrClusterConfig *
tsr_cluster_config_parse (const char *data, gssize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (TsrClusterConfig) c = config_new ();
  g_autoptr (GError) local_error = NULL;
  const char *why = NULL;
  JsonObject *obj;
  JsonNode *root, *node;
  JsonArray *nodes;
  guint64 v;

  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("Cluster config is not valid JSON: %s"),
                   local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      why = "not an object";
      goto fail;
    }
  obj = json_node_get_object (root);
  if (g_strcmp0 (tsr_json_get_string (obj, "format"), CONFIG_FORMAT) != 0 ||
      !tsr_json_get_uint (obj, "version", G_MAXINT, &v) || v != CONFIG_VERSION)
    {
      why = "format or version";
      goto fail;
    }
  if (!tsr_json_get_uint (obj, "chunk_size", TSR_CHUNK_SIZE_MAX, &v) ||
      !tsr_chunk_size_is_valid (v))
    {
      why = "chunk_size";
      goto fail;
    }
  c->chunk_size = v;
  if (!tsr_json_get_uint (obj, "replicas", TSR_CLUSTER_MAX_NODES, &v) || v == 0)
    {
      why = "replicas";
      goto fail;
    }
  c->replicas = v;
  node = json_object_get_member (obj, "nodes");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (nodes = json_node_get_array (node)) > TSR_CLUSTER_MAX_NODES)
    {
      why = "nodes";
      goto fail;
    }
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonNode *el = json_array_get_element (nodes, i);
      TsrNodeConfig *n;
      JsonObject *o;
      const char *s;
      guint64 port;

      if (!JSON_NODE_HOLDS_OBJECT (el))
        {
          why = "node entry";
          goto fail;
        }
      o = json_node_get_object (el);
      n = g_new0 (TsrNodeConfig, 1);
      g_ptr_array_add (c->nodes, n);
      s = tsr_json_get_string (o, "node_id");
      if (!tsr_cluster_node_id_is_valid (s) || tsr_cluster_config_find (c, s) != NULL)
        {
          why = "node_id";
          goto fail;
        }
      n->node_id = g_strdup (s);
      s = tsr_json_get_string (o, "host");
      if (s == NULL || *s == '\0' || strlen (s) > 255)
        {
          why = "host";
          goto fail;
        }
      n->host = g_strdup (s);
      if (!tsr_json_get_uint (o, "port", 65535, &port) ||
          !tsr_json_get_uint (o, "capacity_bytes", G_MAXINT64, &n->capacity) ||
          !tsr_json_get_bool (o, "embedded", &n->embedded) ||
          !tsr_json_get_bool (o, "enabled", &n->enabled))
        {
          why = "node fields";
          goto fail;
        }
      n->port = port;
      /* Optional (configs from before the emulation have none), but whole when present. */
      tsr_netem_settings_init_off (&n->netem);
      node = json_object_get_member (o, "netem");
      if (node != NULL && (!JSON_NODE_HOLDS_OBJECT (node) ||
                           !tsr_netem_settings_from_json (json_node_get_object (node), &n->netem)))
        {
          why = "netem";
          goto fail;
        }
      node = json_object_get_member (o, "identity");
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        {
          s = tsr_json_get_string (o, "identity");
          if (!tsr_segment_id_is_valid (s))
            {
              why = "identity";
              goto fail;
            }
          n->identity = g_strdup (s);
        }
      if (!n->embedded && (n->identity == NULL || n->port == 0))
        {
          why = "remote node without identity or port";
          goto fail;
        }
    }
  return g_steal_pointer (&c);

fail:
  g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("Cluster config is damaged: bad %s"), why);
  return NULL;
}

TsrClusterConfig *
tsr_cluster_config_load (const char *path, GError **error)
{
  gsize len;
  g_autofree char *data = tsr_read_file (path, &len, error);
  TsrClusterConfig *c;

  if (data == NULL)
    return NULL;
  c = tsr_cluster_config_parse (data, len, error);
  if (c == NULL)
    g_prefix_error (error, "%s: ", path);
  return c;
}

gboolean
tsr_cluster_config_save (const TsrClusterConfig *c, const char *path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *old = NULL;
  gsize len, old_len;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, CONFIG_FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, CONFIG_VERSION);
  json_builder_set_member_name (b, "chunk_size");
  json_builder_add_int_value (b, c->chunk_size);
  json_builder_set_member_name (b, "replicas");
  json_builder_add_int_value (b, c->replicas);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < c->nodes->len; i++)
    {
      TsrNodeConfig *n = c->nodes->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "node_id");
      json_builder_add_string_value (b, n->node_id);
      json_builder_set_member_name (b, "embedded");
      json_builder_add_boolean_value (b, n->embedded);
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, n->host);
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, n->port);
      json_builder_set_member_name (b, "identity");
      if (n->identity)
        json_builder_add_string_value (b, n->identity);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "capacity_bytes");
      json_builder_add_int_value (b, (gint64)n->capacity);
      json_builder_set_member_name (b, "enabled");
      json_builder_add_boolean_value (b, n->enabled);
      json_builder_set_member_name (b, "netem");
      tsr_netem_settings_to_json (&n->netem, b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  data = json_generator_to_data (gen, &len);
  /* Starting the cluster saves the config in case a node got its identity or port; mostly
   * nothing changed. Not writing then spares a durable write per command, and lets a
   * cluster whose disk is full start, serve its files and free space. */
  if (g_file_get_contents (path, &old, &old_len, NULL) && old_len == len &&
      memcmp (old, data, len) == 0)
    return TRUE;
  if (!g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? TSR_ERROR_NO_SPACE
                       : TSR_ERROR_IO,
                   _ ("Cannot save the cluster config: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_parse_size:
 * @text: "10GB", "10 GB" (as GNOME shows sizes), "64KiB", "512k", "1048576"
 *
 * SI suffixes (kB, MB, GB, TB) are powers of 1000, IEC ones (KiB, MiB, GiB, TiB) and the bare
 * K/M/G/T letters powers of 1024; spaces may separate the number from its unit. Overflow is
 * refused.
 */
gboolean
tsr_parse_size (const char *text, guint64 *out)
{
  static const struct
  {
    const char *suffix;
    guint64 mult;
  } units[] = {
    { "", 1 },
    { "B", 1 },
    { "k", 1024 },
    { "K", 1024 },
    { "KiB", 1024 },
    { "kB", 1000 },
    { "KB", 1000 },
    { "M", 1024 * 1024 },
    { "MiB", 1024 * 1024 },
    { "MB", 1000 * 1000 },
    { "G", 1024 * 1024 * 1024 },
    { "GiB", 1024 * 1024 * 1024 },
    { "GB", 1000 * 1000 * 1000 },
    { "T", G_GUINT64_CONSTANT (1024) * 1024 * 1024 * 1024 },
    { "TiB", G_GUINT64_CONSTANT (1024) * 1024 * 1024 * 1024 },
    { "TB", G_GUINT64_CONSTANT (1000) * 1000 * 1000 * 1000 },
  };
  char *end = NULL;
  guint64 value;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;
  if (*end == ' ')
    {
      while (*end == ' ')
        end++;
      if (*end == '\0') /* spaces, then no unit */
        return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (strcmp (end, units[i].suffix) == 0)
      return g_uint64_checked_mul (out, value, units[i].mult);
  return FALSE;
}
