/* tsr-crypto.h: per-file keys and chunk encryption (libsodium)
 *
 * Each file gets a random 256-bit key; each chunk is sealed under it with an AEAD, with the
 * chunk index as the nonce and as associated data, so a chunk cannot be moved to another
 * position of the file unnoticed. A fresh random key per upload means a nonce is never used
 * twice under one key. Two AEADs, both with a 16-byte tag: AES-256-GCM (GnuTLS; about 4.7 GB/s
 * with AES-NI, 3.5x XChaCha20-Poly1305 there), chosen for uploads when the CPU has AES-NI and
 * carry-less multiply, and XChaCha20-Poly1305 (libsodium), constant-time everywhere, chosen
 * otherwise. A manifest names the one its file was sealed with; downloads read both. The file key
 * itself is sealed with a key-encryption key (for now the cluster's master key in DATA_DIR;
 * accounts will derive it from the password).
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

typedef enum
{
  TSR_CHUNK_CIPHER_XCHACHA20POLY1305,
  TSR_CHUNK_CIPHER_AES256GCM,
} TsrChunkCipher;

gboolean tsr_crypto_init (GError **error);

TsrKey *tsr_key_new_random (void);
TsrKey *tsr_key_new_from_bytes (const guint8 *bytes, gsize len, GError **error);
void tsr_key_free (TsrKey *key);
TsrKey *tsr_key_load_or_create (const char *path, GError **error);

char *tsr_key_seal (const TsrKey *kek, const TsrKey *key);
TsrKey *tsr_key_unseal (const TsrKey *kek, const char *sealed_b64, GError **error);

TsrChunkCipher tsr_chunk_cipher_preferred (void);
const char *tsr_chunk_cipher_to_string (TsrChunkCipher cipher);
gboolean tsr_chunk_cipher_from_string (const char *name, TsrChunkCipher *cipher);

GBytes *tsr_chunk_encrypt (const TsrKey *key, TsrChunkCipher cipher, guint64 index,
                           const guint8 *plain, gsize len);
GBytes *tsr_chunk_decrypt (const TsrKey *key, TsrChunkCipher cipher, guint64 index,
                           const guint8 *sealed, gsize len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrKey, tsr_key_free)

G_END_DECLS
