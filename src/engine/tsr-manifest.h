/* tsr-manifest.h: one file's manifest (the seed's FileMetadata)
 *
 * A manifest that exists is a promise that its segments exist: it is written only after every
 * segment is durably stored, atomically and durably, one JSON file per file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_FILE_ID_LEN        16
#define TSR_MANIFEST_MAX_NODES 64

typedef struct
{
  guint64 index;
  char *segment_id;
  guint32 size;     /* stored (encrypted) bytes */
  GPtrArray *nodes; /* (element-type utf8) node ids holding a copy */
} TsrManifestChunk;

/* Where a summary's chunks are: the chunks whose copies are on exactly these nodes. */
typedef struct
{
  GPtrArray *nodes; /* (element-type utf8) node ids, in the chunks' order */
  guint64 chunks;
  guint ordinal; /* its index in the summary's placements */
} TsrManifestPlacement;

typedef struct
{
  char *file_id;   /* first 16 hex characters of file_hash */
  char *name;      /* original file name, no directory */
  char *file_hash; /* SHA-256 of the plaintext, hex */
  guint64 size;
  guint32 chunk_size;
  guint64 chunk_count;
  gint64 created_at; /* Unix seconds, UTC */
  guint replicas;
  char *cipher;      /* "aes256gcm" or "xchacha20poly1305": see tsr-crypto.h */
  char *sealed_key;  /* the file key, sealed with the key-encryption key, base64 */
  GPtrArray *chunks; /* (element-type TsrManifestChunk) in index order; empty in a summary */
  /* (element-type TsrManifestPlacement) (nullable): a summary's placements, each distinct one
   * once, in the order first seen; NULL in a whole manifest */
  GPtrArray *placements;
  guint64 layout; /* a summary's fingerprint of which chunk has which placement */
} TsrManifest;

gboolean tsr_file_id_is_valid (const char *id);

TsrManifest *tsr_manifest_new (void);
void tsr_manifest_free (TsrManifest *manifest);
TsrManifestChunk *tsr_manifest_add_chunk (TsrManifest *manifest, const char *segment_id,
                                          guint32 size);

TsrManifest *tsr_manifest_parse (const char *data, gssize len, GError **error);
TsrManifest *tsr_manifest_load (const char *path, GError **error);
TsrManifest *tsr_manifest_parse_summary (const char *data, gssize len, GError **error);
TsrManifest *tsr_manifest_load_summary (const char *path, GError **error);
char *tsr_manifest_to_data (const TsrManifest *manifest, gsize *len);
gboolean tsr_manifest_save (const TsrManifest *manifest, const char *path, GError **error);
gboolean tsr_manifest_save_new (const TsrManifest *manifest, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrManifest, tsr_manifest_free)

G_END_DECLS
