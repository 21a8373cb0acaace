/* tsr-crypto.h: per-file keys and chunk encryption (libsodium)
 *
 * Each file gets a random 256-bit key; each chunk is sealed with XChaCha20-Poly1305 under it,
 * with the chunk index as the nonce and as associated data, so a chunk cannot be moved to
 * another position of the file unnoticed. A fresh random key per upload means a nonce is
 * never used twice under one key. The file key itself is sealed with a key-encryption key
 * (for now the cluster's master key in DATA_DIR; accounts will derive it from the password).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_KEY_LEN        32
#define TSR_CHUNK_OVERHEAD 16                      /* the Poly1305 tag */
#define TSR_SEALED_KEY_LEN (24 + TSR_KEY_LEN + 16) /* nonce + key + tag */

typedef struct
{
  guint8 bytes[TSR_KEY_LEN];
} TsrKey;

gboolean tsr_crypto_init (GError **error);

TsrKey *tsr_key_new_random (void);
TsrKey *tsr_key_new_from_bytes (const guint8 *bytes, gsize len, GError **error);
void tsr_key_free (TsrKey *key);
TsrKey *tsr_key_load_or_create (const char *path, GError **error);

char *tsr_key_seal (const TsrKey *kek, const TsrKey *key);
TsrKey *tsr_key_unseal (const TsrKey *kek, const char *sealed_b64, GError **error);

GBytes *tsr_chunk_encrypt (const TsrKey *key, guint64 index, const guint8 *plain, gsize len);
GBytes *tsr_chunk_decrypt (const TsrKey *key, guint64 index, const guint8 *cipher, gsize len,
                           GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrKey, tsr_key_free)

G_END_DECLS
