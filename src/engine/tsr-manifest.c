/* tsr-manifest.c
 *
 * The loader treats its input as untrusted (a manifest can be damaged on disk or come back
 * from the nodes when a catalog is recovered): every field is type-checked and every length
 * cross-checked before the manifest is used, with one error exit.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-manifest.h"
#include "tsr-chunker.h"
#include "tsr-crypto.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-json.h"
#include "tsr-json-reader.h"

#include <errno.h>
#include <fcntl.h>
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
  g_clear_pointer (&m->placements, g_ptr_array_unref);
  g_free (m);
}

static void
placement_free (TsrManifestPlacement *p)
{
  g_ptr_array_unref (p->nodes);
  g_free (p);
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

/* ---- reading ----
 *
 * A pull parser over the text rather than json-glib's JsonParser: the tree of a 1 GiB file's
 * manifest (16,384 chunks) took about 20 MB, more than the manifest itself, and a download
 * loads the manifest twice (the caller to name the file, the download itself). Only what the
 * manifest keeps is allocated; members it does not know are skipped, as before. The grammar is
 * JSON's; like json-glib, raw control characters in strings are tolerated (json-glib wrote
 * U+001F unescaped). Anything else unexpected makes the manifest CORRUPT: a wrongly typed
 * member is named, a syntax error is reported with its offset. */

#define MAX_KEY 32 /* longer member names are not the manifest's */

/* A string member's value, replacing a duplicate's as json-glib did. */
static gboolean
read_string_member (TsrJsonReader *r, char **out)
{
  if (!tsr_json_reader_read_string (r))
    return FALSE;
  g_free (*out);
  *out = g_strndup (r->str->str, r->str->len);
  return TRUE;
}

/* What a summary keeps while reading the chunks: each chunk's index and size, for the checks
 * against the header once all of it is read (16 bytes a chunk, freed after), and each distinct
 * placement once. */
typedef struct
{
  guint64 index;
  guint32 size;
} ChunkShape;

typedef struct
{
  GArray *shapes;   /* ChunkShape */
  GHashTable *seen; /* the node ids joined by '\n' -> TsrManifestPlacement* */
  GString *key;
} Summary;

static void
summary_reset (Summary *sum, TsrManifest *m)
{
  g_array_set_size (sum->shapes, 0);
  g_hash_table_remove_all (sum->seen);
  g_ptr_array_set_size (m->placements, 0);
  m->layout = G_GUINT64_CONSTANT (0xcbf29ce484222325);
}

static void
summary_add (Summary *sum, TsrManifest *m, guint64 index, guint32 size, GPtrArray *nodes)
{
  ChunkShape shape = { index, size };
  TsrManifestPlacement *p;

  g_array_append_val (sum->shapes, shape);
  /* Node ids have no control characters (node_name_is_valid): '\n' cannot be part of one. */
  g_string_truncate (sum->key, 0);
  for (guint i = 0; i < nodes->len; i++)
    {
      g_string_append (sum->key, nodes->pdata[i]);
      g_string_append_c (sum->key, '\n');
    }
  p = g_hash_table_lookup (sum->seen, sum->key->str);
  if (p == NULL)
    {
      p = g_new0 (TsrManifestPlacement, 1);
      p->nodes = g_ptr_array_ref (nodes);
      p->ordinal = m->placements->len;
      g_ptr_array_add (m->placements, p);
      g_hash_table_insert (sum->seen, g_strdup (sum->key->str), p);
    }
  p->chunks++;
  /* FNV-1a over the chunks' placement numbers: a repair that swaps two chunks' copies
   * changes it, though the placements and their counts stay the same. */
  m->layout = (m->layout ^ p->ordinal) * G_GUINT64_CONSTANT (0x100000001b3);
}

/* One element of "chunks": its structure; its index and size are checked against the header
 * once all of it is read. A summary (@sum not NULL) keeps only its shape and placement.
 * *@why names what is wrong. */
static gboolean
read_chunk (TsrJsonReader *r, TsrManifest *m, Summary *sum, const char **why)
{
  g_autofree char *segment_id = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  guint64 index = 0, size = 0;
  gboolean have_index = FALSE, have_size = FALSE;
  TsrManifestChunk *chunk;
  char key[MAX_KEY];

  *why = "chunk entry";
  if (!tsr_json_reader_accept (r, '{'))
    return FALSE;
  if (!tsr_json_reader_accept (r, '}'))
    {
      do
        {
          if (!tsr_json_reader_read_key (r, key, sizeof key))
            return FALSE;
          if (strcmp (key, "index") == 0)
            {
              if (!tsr_json_reader_read_uint (r, G_MAXINT64, &index))
                return FALSE;
              have_index = TRUE;
            }
          else if (strcmp (key, "size") == 0)
            {
              if (!tsr_json_reader_read_uint (r, G_MAXUINT32, &size))
                return FALSE;
              have_size = TRUE;
            }
          else if (strcmp (key, "segment_id") == 0)
            {
              if (!read_string_member (r, &segment_id))
                return FALSE;
            }
          else if (strcmp (key, "nodes") == 0)
            {
              *why = "chunk nodes";
              g_clear_pointer (&nodes, g_ptr_array_unref);
              nodes = g_ptr_array_new_full (2, g_free);
              if (!tsr_json_reader_accept (r, '['))
                return FALSE;
              if (!tsr_json_reader_accept (r, ']'))
                {
                  do
                    {
                      if (nodes->len >= TSR_MANIFEST_MAX_NODES ||
                          !tsr_json_reader_read_string (r) || !node_name_is_valid (r->str->str))
                        return FALSE;
                      g_ptr_array_add (nodes, g_strndup (r->str->str, r->str->len));
                    }
                  while (tsr_json_reader_accept (r, ','));
                  if (!tsr_json_reader_accept (r, ']'))
                    return FALSE;
                }
              *why = "chunk entry";
            }
          else if (!tsr_json_reader_skip_value (r, 1))
            return FALSE;
        }
      while (tsr_json_reader_accept (r, ','));
      if (!tsr_json_reader_accept (r, '}'))
        return FALSE;
    }
  if (!have_index || !have_size || !tsr_segment_id_is_valid (segment_id))
    return FALSE;
  if (nodes == NULL)
    {
      *why = "chunk nodes";
      return FALSE;
    }
  if (sum != NULL)
    {
      summary_add (sum, m, index, size, nodes);
      return TRUE;
    }
  chunk = tsr_manifest_add_chunk (m, segment_id, size);
  chunk->index = index;
  g_ptr_array_unref (chunk->nodes);
  chunk->nodes = g_steal_pointer (&nodes);
  return TRUE;
}

static void
summary_clear (Summary *sum)
{
  if (sum == NULL)
    return;
  g_array_unref (sum->shapes);
  g_hash_table_unref (sum->seen);
  g_string_free (sum->key, TRUE);
}

static TsrManifest *
parse (const char *data, gssize len, gboolean summary, GError **error)
{
  g_autoptr (TsrManifest) m = tsr_manifest_new ();
  g_autoptr (GString) str = g_string_new (NULL);
  Summary sum_data = { 0 }, *sum = NULL;
  g_autoptr (GDateTime) created = NULL;
  g_autofree char *format = NULL;
  g_autofree char *created_str = NULL;
  TsrJsonReader r = { data, data, data + (len < 0 ? strlen (data) : (gsize)len), str };
  /* The header's numbers, G_MAXUINT64 until read (no member allows that value). */
  guint64 version = G_MAXUINT64, size = G_MAXUINT64, chunk_size = G_MAXUINT64;
  guint64 chunk_count = G_MAXUINT64, replicas = G_MAXUINT64;
  TsrChunkCipher cipher;
  gboolean have_chunks = FALSE;
  const char *why = NULL;
  char key[MAX_KEY];
  guint64 n_chunks = 0;

  if (summary)
    {
      sum = &sum_data;
      sum->shapes = g_array_new (FALSE, FALSE, sizeof (ChunkShape));
      sum->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      sum->key = g_string_new (NULL);
      m->placements = g_ptr_array_new_with_free_func ((GDestroyNotify)placement_free);
      m->layout = G_GUINT64_CONSTANT (0xcbf29ce484222325);
    }
  tsr_json_reader_skip_space (&r);
  if (r.p < r.end && *r.p != '{')
    {
      /* Valid JSON of another kind, or not JSON at all. */
      if (tsr_json_reader_skip_value (&r, 0) && (tsr_json_reader_skip_space (&r), r.p == r.end))
        why = "not an object";
      goto fail;
    }
  if (!tsr_json_reader_accept (&r, '{'))
    goto fail;
  if (!tsr_json_reader_accept (&r, '}'))
    {
      do
        {
          guint64 *number = NULL;
          guint64 max = G_MAXINT64;
          char **string = NULL;

          if (!tsr_json_reader_read_key (&r, key, sizeof key))
            goto fail;
          if (strcmp (key, "format") == 0)
            {
              string = &format;
              why = "wrong format tag";
            }
          else if (strcmp (key, "file_hash") == 0)
            {
              string = &m->file_hash;
              why = "file_hash";
            }
          else if (strcmp (key, "file_id") == 0)
            {
              string = &m->file_id;
              why = "file_id";
            }
          else if (strcmp (key, "original_filename") == 0)
            {
              string = &m->name;
              why = "original_filename";
            }
          else if (strcmp (key, "created_at") == 0)
            {
              string = &created_str;
              why = "created_at";
            }
          else if (strcmp (key, "cipher") == 0)
            {
              string = &m->cipher;
              why = "cipher";
            }
          else if (strcmp (key, "sealed_key") == 0)
            {
              string = &m->sealed_key;
              why = "sealed_key";
            }
          else if (strcmp (key, "version") == 0)
            {
              number = &version;
              max = G_MAXINT;
              why = "unsupported version";
            }
          else if (strcmp (key, "total_size_bytes") == 0)
            {
              number = &size;
              why = "total_size_bytes";
            }
          else if (strcmp (key, "chunk_size_bytes") == 0)
            {
              number = &chunk_size;
              max = TSR_CHUNK_SIZE_MAX;
              why = "chunk_size_bytes";
            }
          else if (strcmp (key, "total_chunks") == 0)
            {
              number = &chunk_count;
              why = "total_chunks";
            }
          else if (strcmp (key, "replicas") == 0)
            {
              number = &replicas;
              max = TSR_MANIFEST_MAX_NODES;
              why = "replicas";
            }

          if (string != NULL)
            {
              if (!read_string_member (&r, string))
                goto fail;
            }
          else if (number != NULL)
            {
              if (!tsr_json_reader_read_uint (&r, max, number))
                goto fail;
            }
          else if (strcmp (key, "chunks") == 0)
            {
              /* A second "chunks" replaces the first, as in json-glib. */
              g_ptr_array_set_size (m->chunks, 0);
              if (sum != NULL)
                summary_reset (sum, m);
              have_chunks = TRUE;
              why = "chunks";
              if (!tsr_json_reader_accept (&r, '['))
                goto fail;
              if (!tsr_json_reader_accept (&r, ']'))
                {
                  do
                    {
                      if (!read_chunk (&r, m, sum, &why))
                        goto fail;
                    }
                  while (tsr_json_reader_accept (&r, ','));
                  why = "chunks";
                  if (!tsr_json_reader_accept (&r, ']'))
                    goto fail;
                }
            }
          else if (!tsr_json_reader_skip_value (&r, 1))
            goto fail;
          why = NULL;
        }
      while (tsr_json_reader_accept (&r, ','));
      if (!tsr_json_reader_accept (&r, '}'))
        goto fail;
    }
  tsr_json_reader_skip_space (&r);
  if (r.p != r.end)
    goto fail;

  /* The checks json-glib's tree got, in the same order. */
  if (g_strcmp0 (format, MANIFEST_FORMAT) != 0)
    why = "wrong format tag";
  else if (version != MANIFEST_VERSION)
    why = "unsupported version";
  /* 64 lowercase hex, the same shape as a segment id */
  else if (!tsr_segment_id_is_valid (m->file_hash))
    why = "file_hash";
  else if (!tsr_file_id_is_valid (m->file_id) ||
           strncmp (m->file_id, m->file_hash, TSR_FILE_ID_LEN) != 0)
    why = "file_id";
  else if (m->name == NULL || *m->name == '\0' || strlen (m->name) > MAX_NAME_LEN ||
           strchr (m->name, '/') != NULL)
    why = "original_filename";
  else if (size > G_MAXINT64)
    why = "total_size_bytes";
  else if (chunk_size > TSR_CHUNK_SIZE_MAX || !tsr_chunk_size_is_valid (chunk_size))
    why = "chunk_size_bytes";
  else if (chunk_count > G_MAXINT64 || chunk_count != tsr_chunk_count (size, chunk_size))
    why = "total_chunks";
  else if (replicas > TSR_MANIFEST_MAX_NODES || replicas == 0)
    why = "replicas";
  else if (created_str == NULL ||
           (created = g_date_time_new_from_iso8601 (created_str, NULL)) == NULL)
    why = "created_at";
  else if (!tsr_chunk_cipher_from_string (m->cipher, &cipher))
    why = "cipher";
  else if (m->sealed_key == NULL || strlen (m->sealed_key) > 256)
    why = "sealed_key";
  else if (!have_chunks ||
           (n_chunks = sum != NULL ? sum->shapes->len : m->chunks->len) != chunk_count)
    why = "chunks";
  if (why != NULL)
    goto fail;
  m->size = size;
  m->chunk_size = chunk_size;
  m->chunk_count = chunk_count;
  m->replicas = replicas;
  m->created_at = g_date_time_to_unix (created);
  for (guint64 i = 0; i < n_chunks; i++)
    {
      ChunkShape shape;
      /* Every chunk is full but the last; stored sizes add the AEAD tag. */
      guint64 plain = (i + 1 < m->chunk_count) ? m->chunk_size : m->size - i * m->chunk_size;

      if (sum != NULL)
        shape = g_array_index (sum->shapes, ChunkShape, i);
      else
        {
          const TsrManifestChunk *chunk = m->chunks->pdata[i];
          shape = (ChunkShape){ chunk->index, chunk->size };
        }
      if (shape.index != i || shape.size != plain + TSR_CHUNK_OVERHEAD)
        {
          why = "chunk entry";
          goto fail;
        }
    }
  summary_clear (sum);
  return g_steal_pointer (&m);

fail:
  summary_clear (sum);
  if (why != NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("Manifest is damaged: bad %s"), why);
  else
    g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                 _ ("Manifest is not valid JSON (at byte %llu)"),
                 (unsigned long long)(r.p - r.start));
  return NULL;
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
  return parse (data, len, FALSE, error);
}

/**
 * tsr_manifest_parse_summary:
 *
 * Checks the manifest as tsr_manifest_parse() does, but keeps only its header and where its
 * chunks are (@placements, each distinct list of nodes once with how many chunks have it):
 * enough to list the file and tell its health. A 1 GiB file's 16,384 chunks took about 4.6 MB
 * as a whole manifest.
 *
 * Returns: (transfer full): the summary (no @chunks), or %NULL with %TSR_ERROR_CORRUPT
 */
TsrManifest *
tsr_manifest_parse_summary (const char *data, gssize len, GError **error)
{
  return parse (data, len, TRUE, error);
}

static TsrManifest *
load (const char *path, gboolean summary, GError **error)
{
  gsize len;
  g_autofree char *data = tsr_read_file (path, &len, error);
  TsrManifest *m;

  if (data == NULL)
    return NULL;
  m = parse (data, len, summary, error);
  if (m == NULL)
    g_prefix_error (error, "%s: ", path);
  return m;
}

TsrManifest *
tsr_manifest_load (const char *path, GError **error)
{
  return load (path, FALSE, error);
}

TsrManifest *
tsr_manifest_load_summary (const char *path, GError **error)
{
  return load (path, TRUE, error);
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

  /* A summary has no chunks to write. */
  g_return_val_if_fail (m->placements == NULL, NULL);
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
  g_autofree char *data = NULL;

  g_return_val_if_fail (m->placements == NULL, FALSE);
  data = tsr_manifest_to_data (m, &len);

  if (!g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? TSR_ERROR_NO_SPACE
                       : TSR_ERROR_IO,
                   _ ("Cannot save the manifest: %s"), local_error->message);
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
  return tsr_write_all (GPOINTER_TO_INT (data), text->str, text->len);
}

gboolean
tsr_manifest_save_new (const TsrManifest *m, const char *path, GError **error)
{
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  ManifestWriter w = { 0 };
  int fd, dfd, saved;

  g_return_val_if_fail (m->placements == NULL, FALSE);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot save the manifest in %s"), dir);
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
      tsr_set_error_from_errno (error, saved, _ ("Cannot save the manifest"));
      return FALSE;
    }
  close (fd);
  if (link (tmp, path) != 0)
    {
      saved = errno;
      g_unlink (tmp);
      if (saved == EEXIST)
        g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, _ ("A manifest already exists at %s"),
                     path);
      else
        tsr_set_error_from_errno (error, saved, _ ("Cannot save the manifest"));
      return FALSE;
    }
  g_unlink (tmp);
  dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd < 0 || fsync (dfd) != 0)
    {
      saved = errno;
      if (dfd >= 0)
        close (dfd);
      tsr_set_error_from_errno (error, saved, _ ("Cannot make the manifest durable"));
      return FALSE;
    }
  close (dfd);
  return TRUE;
}
