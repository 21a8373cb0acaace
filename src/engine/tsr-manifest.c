/* tsr-manifest.c
 *
 * The loader treats its input as untrusted (a manifest can be damaged on disk or come back
 * from the nodes when a catalog is recovered): every field is type-checked and every length
 * cross-checked before the manifest is used, with one error exit.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-manifest.h"
#include "tsr-chunker.h"
#include "tsr-crypto.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-json.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define MANIFEST_FORMAT  "tessera-manifest"
#define MANIFEST_VERSION 1
#define MAX_NAME_LEN     4096

gboolean
tsr_file_id_is_valid (const char *id)
{
  if (id == NULL)
    return FALSE;
  for (int i = 0; i < TSR_FILE_ID_LEN; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return FALSE;
  return id[TSR_FILE_ID_LEN] == '\0';
}

static void
chunk_free (TsrManifestChunk *chunk)
{
  g_free (chunk->segment_id);
  g_ptr_array_unref (chunk->nodes);
  g_free (chunk);
}

TsrManifest *
tsr_manifest_new (void)
{
  TsrManifest *m = g_new0 (TsrManifest, 1);

  m->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify)chunk_free);
  return m;
}

void
tsr_manifest_free (TsrManifest *m)
{
  if (m == NULL)
    return;
  g_free (m->file_id);
  g_free (m->name);
  g_free (m->file_hash);
  g_free (m->cipher);
  g_free (m->sealed_key);
  g_ptr_array_unref (m->chunks);
  g_free (m);
}

TsrManifestChunk *
tsr_manifest_add_chunk (TsrManifest *m, const char *segment_id, guint32 size)
{
  TsrManifestChunk *chunk = g_new0 (TsrManifestChunk, 1);

  chunk->index = m->chunks->len;
  chunk->segment_id = g_strdup (segment_id);
  chunk->size = size;
  chunk->nodes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (m->chunks, chunk);
  return chunk;
}

static gboolean
node_name_is_valid (const char *name)
{
  gsize len = name ? strlen (name) : 0;

  if (len == 0 || len > 64 || !g_utf8_validate (name, len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (name[i] == '/' || g_ascii_iscntrl (name[i]))
      return FALSE;
  return TRUE;
}

/**
 * tsr_manifest_parse:
 *
 * Returns: (transfer full): the manifest, or %NULL with %TSR_ERROR_CORRUPT saying which field
 * is wrong
 */
TsrManifest *
tsr_manifest_parse (const char *data, gssize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (TsrManifest) m = tsr_manifest_new ();
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDateTime) created = NULL;
  const char *why = NULL;
  const char *s;
  JsonObject *obj;
  JsonNode *root, *node;
  JsonArray *chunks;
  guint64 v;

  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, "Manifest is not valid JSON: %s",
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
  if (g_strcmp0 (tsr_json_get_string (obj, "format"), MANIFEST_FORMAT) != 0)
    {
      why = "wrong format tag";
      goto fail;
    }
  if (!tsr_json_get_uint (obj, "version", G_MAXINT, &v) || v != MANIFEST_VERSION)
    {
      why = "unsupported version";
      goto fail;
    }

  s = tsr_json_get_string (obj, "file_hash");
  if (!tsr_segment_id_is_valid (s)) /* 64 lowercase hex, the same shape as a segment id */
    {
      why = "file_hash";
      goto fail;
    }
  m->file_hash = g_strdup (s);
  s = tsr_json_get_string (obj, "file_id");
  if (!tsr_file_id_is_valid (s) || strncmp (s, m->file_hash, TSR_FILE_ID_LEN) != 0)
    {
      why = "file_id";
      goto fail;
    }
  m->file_id = g_strdup (s);
  s = tsr_json_get_string (obj, "original_filename");
  if (s == NULL || *s == '\0' || strlen (s) > MAX_NAME_LEN || strchr (s, '/') != NULL ||
      !g_utf8_validate (s, -1, NULL))
    {
      why = "original_filename";
      goto fail;
    }
  m->name = g_strdup (s);

  if (!tsr_json_get_uint (obj, "total_size_bytes", G_MAXINT64, &m->size))
    {
      why = "total_size_bytes";
      goto fail;
    }
  if (!tsr_json_get_uint (obj, "chunk_size_bytes", TSR_CHUNK_SIZE_MAX, &v) ||
      !tsr_chunk_size_is_valid (v))
    {
      why = "chunk_size_bytes";
      goto fail;
    }
  m->chunk_size = v;
  if (!tsr_json_get_uint (obj, "total_chunks", G_MAXINT64, &m->chunk_count) ||
      m->chunk_count != tsr_chunk_count (m->size, m->chunk_size))
    {
      why = "total_chunks";
      goto fail;
    }
  if (!tsr_json_get_uint (obj, "replicas", TSR_MANIFEST_MAX_NODES, &v) || v == 0)
    {
      why = "replicas";
      goto fail;
    }
  m->replicas = v;
  s = tsr_json_get_string (obj, "created_at");
  if (s == NULL || (created = g_date_time_new_from_iso8601 (s, NULL)) == NULL)
    {
      why = "created_at";
      goto fail;
    }
  m->created_at = g_date_time_to_unix (created);
  s = tsr_json_get_string (obj, "cipher");
  if (g_strcmp0 (s, "xchacha20poly1305") != 0)
    {
      why = "cipher";
      goto fail;
    }
  m->cipher = g_strdup (s);
  s = tsr_json_get_string (obj, "sealed_key");
  if (s == NULL || strlen (s) > 256)
    {
      why = "sealed_key";
      goto fail;
    }
  m->sealed_key = g_strdup (s);

  node = json_object_get_member (obj, "chunks");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (chunks = json_node_get_array (node)) != m->chunk_count)
    {
      why = "chunks";
      goto fail;
    }
  for (guint i = 0; i < json_array_get_length (chunks); i++)
    {
      JsonNode *el = json_array_get_element (chunks, i);
      JsonObject *c;
      JsonArray *nodes;
      TsrManifestChunk *chunk;
      guint64 plain, index, size;

      if (!JSON_NODE_HOLDS_OBJECT (el))
        {
          why = "chunk entry";
          goto fail;
        }
      c = json_node_get_object (el);
      s = tsr_json_get_string (c, "segment_id");
      /* Every chunk is full but the last; stored sizes add the AEAD tag. */
      plain = (i + 1 < m->chunk_count) ? m->chunk_size : m->size - (guint64)i * m->chunk_size;
      if (!tsr_json_get_uint (c, "index", G_MAXINT64, &index) || index != i ||
          !tsr_segment_id_is_valid (s) || !tsr_json_get_uint (c, "size", G_MAXUINT32, &size) ||
          size != plain + TSR_CHUNK_OVERHEAD)
        {
          why = "chunk entry";
          goto fail;
        }
      chunk = tsr_manifest_add_chunk (m, s, size);
      node = json_object_get_member (c, "nodes");
      if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
          json_array_get_length (nodes = json_node_get_array (node)) > TSR_MANIFEST_MAX_NODES)
        {
          why = "chunk nodes";
          goto fail;
        }
      for (guint j = 0; j < json_array_get_length (nodes); j++)
        {
          JsonNode *n = json_array_get_element (nodes, j);
          if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING ||
              !node_name_is_valid (json_node_get_string (n)))
            {
              why = "chunk nodes";
              goto fail;
            }
          g_ptr_array_add (chunk->nodes, g_strdup (json_node_get_string (n)));
        }
    }
  return g_steal_pointer (&m);

fail:
  g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, "Manifest is damaged: bad %s", why);
  return NULL;
}

TsrManifest *
tsr_manifest_load (const char *path, GError **error)
{
  gsize len;
  g_autofree char *data = tsr_read_file (path, &len, error);
  TsrManifest *m;

  if (data == NULL)
    return NULL;
  m = tsr_manifest_parse (data, len, error);
  if (m == NULL)
    g_prefix_error (error, "%s: ", path);
  return m;
}

/* The manifest is written as text directly, in the layout json-glib's pretty generator gave it
 * (two-space indent, "key" : value), rather than through a JsonBuilder tree: for a 1 GiB file's
 * 16,384 chunks the tree took about 20 MB at the end of the upload, the text 4 MB. A
 * #ManifestWriter hands the text on in pieces of about WRITE_PIECE bytes, so writing it to a file
 * needs no more than that. */
#define WRITE_PIECE (64 * 1024)

typedef gboolean (*ManifestFlushFunc) (GString *text, gpointer data);

typedef struct
{
  GString *text;
  ManifestFlushFunc flush; /* NULL: keep it all in @text */
  gpointer data;
  gboolean failed;
  int failed_errno; /* errno when @flush failed */
} ManifestWriter;

static void
writer_maybe_flush (ManifestWriter *w, gboolean force)
{
  if (w->flush == NULL || w->failed || (!force && w->text->len < WRITE_PIECE))
    return;
  if (!w->flush (w->text, w->data))
    {
      w->failed = TRUE;
      w->failed_errno = errno;
    }
  g_string_truncate (w->text, 0);
}

/* As json-glib escapes, but also U+001F, which it passes raw (and then cannot parse). */
static void
append_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      else if ((*p > 0 && *p < 0x20) || *p == 0x7f)
        switch (*p)
          {
            case '\b':
              g_string_append (out, "\\b");
              break;
            case '\f':
              g_string_append (out, "\\f");
              break;
            case '\n':
              g_string_append (out, "\\n");
              break;
            case '\r':
              g_string_append (out, "\\r");
              break;
            case '\t':
              g_string_append (out, "\\t");
              break;
            default:
              g_string_append_printf (out, "\\u00%02x", (guint)*p);
              break;
          }
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
write_manifest (const TsrManifest *m, ManifestWriter *w)
{
  g_autoptr (GDateTime) created = g_date_time_new_from_unix_utc (m->created_at);
  g_autofree char *created_str = g_date_time_format_iso8601 (created);
  GString *out = w->text;

#define STR(k, v)                                                                                  \
  g_string_append (out, "  \"" k "\" : ");                                                         \
  append_string (out, v);                                                                          \
  g_string_append (out, ",\n")
#define INT(k, v) g_string_append_printf (out, "  \"" k "\" : %" G_GINT64_FORMAT ",\n", (gint64)(v))
  g_string_append (out, "{\n");
  STR ("format", MANIFEST_FORMAT);
  INT ("version", MANIFEST_VERSION);
  STR ("file_id", m->file_id);
  STR ("original_filename", m->name);
  STR ("file_hash", m->file_hash);
  INT ("total_size_bytes", m->size);
  INT ("chunk_size_bytes", m->chunk_size);
  INT ("total_chunks", m->chunk_count);
  STR ("created_at", created_str);
  INT ("replicas", m->replicas);
  STR ("cipher", m->cipher);
  STR ("sealed_key", m->sealed_key);
#undef STR
#undef INT
  g_string_append (out, m->chunks->len > 0 ? "  \"chunks\" : [\n" : "  \"chunks\" : []\n");
  for (guint i = 0; i < m->chunks->len; i++)
    {
      TsrManifestChunk *c = m->chunks->pdata[i];

      g_string_append_printf (out, "    {\n      \"index\" : %" G_GINT64_FORMAT ",\n",
                              (gint64)c->index);
      g_string_append (out, "      \"segment_id\" : ");
      append_string (out, c->segment_id);
      g_string_append_printf (out, ",\n      \"size\" : %" G_GINT64_FORMAT ",\n", (gint64)c->size);
      if (c->nodes->len == 0)
        g_string_append (out, "      \"nodes\" : []\n");
      else
        {
          g_string_append (out, "      \"nodes\" : [\n");
          for (guint j = 0; j < c->nodes->len; j++)
            {
              g_string_append (out, "        ");
              append_string (out, c->nodes->pdata[j]);
              g_string_append (out, j + 1 < c->nodes->len ? ",\n" : "\n");
            }
          g_string_append (out, "      ]\n");
        }
      g_string_append (out, i + 1 < m->chunks->len ? "    },\n" : "    }\n");
      writer_maybe_flush (w, FALSE);
    }
  if (m->chunks->len > 0)
    g_string_append (out, "  ]\n");
  g_string_append_c (out, '}');
  writer_maybe_flush (w, TRUE);
}

char *
tsr_manifest_to_data (const TsrManifest *m, gsize *len)
{
  ManifestWriter w = { 0 };

  w.text = g_string_new (NULL);

  write_manifest (m, &w);
  if (len != NULL)
    *len = w.text->len;
  return g_string_free (w.text, FALSE);
}

/* Atomic and durable: after this returns, the manifest survives a crash whole or not at all. */
gboolean
tsr_manifest_save (const TsrManifest *m, const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gsize len;
  g_autofree char *data = tsr_manifest_to_data (m, &len);

  if (!g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? TSR_ERROR_NO_SPACE
                       : TSR_ERROR_IO,
                   "Cannot save the manifest: %s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_manifest_save_new:
 *
 * Like tsr_manifest_save(), but never replaces a manifest: when @path exists (another upload
 * of the same content committed first), fails with %TSR_ERROR_EXISTS. The check and the
 * commit are one step (link(2) of a complete, synced temporary file), so two uploads racing
 * cannot both believe they committed.
 */
static gboolean
write_piece_to_fd (GString *text, gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  const char *p = text->str;
  gsize left = text->len;

  while (left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      left -= n;
    }
  return TRUE;
}

gboolean
tsr_manifest_save_new (const TsrManifest *m, const char *path, GError **error)
{
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  ManifestWriter w = { 0 };
  int fd, dfd, saved;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      tsr_set_error_from_errno (error, errno, "Cannot save the manifest in %s", dir);
      return FALSE;
    }
  /* Streamed: the whole text of a large file's manifest is never in memory at once. */
  w.text = g_string_sized_new (WRITE_PIECE + 1024);
  w.flush = write_piece_to_fd;
  w.data = GINT_TO_POINTER (fd);
  write_manifest (m, &w);
  g_string_free (w.text, TRUE);
  if (w.failed || fsync (fd) != 0)
    {
      saved = w.failed ? w.failed_errno : errno;
      close (fd);
      g_unlink (tmp);
      tsr_set_error_from_errno (error, saved, "Cannot save the manifest");
      return FALSE;
    }
  close (fd);
  if (link (tmp, path) != 0)
    {
      saved = errno;
      g_unlink (tmp);
      if (saved == EEXIST)
        g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, "A manifest already exists at %s", path);
      else
        tsr_set_error_from_errno (error, saved, "Cannot save the manifest");
      return FALSE;
    }
  g_unlink (tmp);
  dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd < 0 || fsync (dfd) != 0)
    {
      saved = errno;
      if (dfd >= 0)
        close (dfd);
      tsr_set_error_from_errno (error, saved, "Cannot make the manifest durable");
      return FALSE;
    }
  close (dfd);
  return TRUE;
}
