/* tsr-crypto.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-crypto.h"
#include "tsr-error.h"

#include <errno.h>
#include <string.h>
#include <gnutls/crypto.h>
#include <sodium.h>
#include <glib/gstdio.h>

G_STATIC_ASSERT (TSR_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
G_STATIC_ASSERT (TSR_CHUNK_OVERHEAD == crypto_aead_xchacha20poly1305_ietf_ABYTES);
G_STATIC_ASSERT (TSR_CHUNK_OVERHEAD == crypto_aead_aes256gcm_ABYTES);

gboolean
tsr_crypto_init (GError **error)
{
  if (sodium_init () < 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("libsodium could not be initialised"));
      return FALSE;
    }
  return TRUE;
}

/* Keys live in guarded memory: not swapped out, wiped on free. */
static TsrKey *
key_alloc (void)
{
  TsrKey *key = sodium_malloc (sizeof (TsrKey));

  g_assert (key != NULL);
  return key;
}

TsrKey *
tsr_key_new_random (void)
{
  TsrKey *key = key_alloc ();

  randombytes_buf (key->bytes, TSR_KEY_LEN);
  return key;
}

TsrKey *
tsr_key_new_from_bytes (const guint8 *bytes, gsize len, GError **error)
{
  TsrKey *key;

  if (len != TSR_KEY_LEN)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("A key must be %d bytes, not %llu"),
                   TSR_KEY_LEN, (unsigned long long)len);
      return NULL;
    }
  key = key_alloc ();
  memcpy (key->bytes, bytes, TSR_KEY_LEN);
  return key;
}

void
tsr_key_free (TsrKey *key)
{
  if (key != NULL)
    sodium_free (key); /* zeroes before freeing */
}

/**
 * tsr_key_load_or_create:
 * @path: a file of exactly 32 bytes, mode 0600; created with a random key when missing
 *
 * A file of the wrong size is %TSR_ERROR_CORRUPT and is never replaced: a new key would make
 * every file sealed with the old one unreadable.
 */
TsrKey *
tsr_key_load_or_create (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len = 0;
  TsrKey *key;

  if (g_file_get_contents (path, &contents, &len, &local_error))
    {
      key = tsr_key_new_from_bytes ((const guint8 *)contents, len, error);
      sodium_memzero (contents, len);
      if (key == NULL)
        g_prefix_error (error, "%s: ", path);
      return key;
    }
  if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot read %s: %s"), path,
                   local_error->message);
      return NULL;
    }
  g_clear_error (&local_error);

  {
    g_autofree char *dir = g_path_get_dirname (path);
    if (g_mkdir_with_parents (dir, 0700) != 0)
      {
        tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), dir);
        return NULL;
      }
  }
  key = tsr_key_new_random ();
  if (!g_file_set_contents_full (path, (const char *)key->bytes, TSR_KEY_LEN,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      tsr_key_free (key);
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot save %s: %s"), path,
                   local_error->message);
      return NULL;
    }
  return key;
}

/* Returns base64 of nonce || ciphertext || tag. */
char *
tsr_key_seal (const TsrKey *kek, const TsrKey *key)
{
  guint8 out[TSR_SEALED_KEY_LEN];
  unsigned long long clen;
  char *b64;

  randombytes_buf (out, 24);
  crypto_aead_xchacha20poly1305_ietf_encrypt (out + 24, &clen, key->bytes, TSR_KEY_LEN, NULL, 0,
                                              NULL, out, kek->bytes);
  g_assert (clen == TSR_KEY_LEN + 16);
  b64 = g_base64_encode (out, sizeof out);
  sodium_memzero (out, sizeof out);
  return b64;
}

TsrKey *
tsr_key_unseal (const TsrKey *kek, const char *sealed_b64, GError **error)
{
  g_autofree guint8 *raw = NULL;
  gsize len = 0;
  TsrKey *key;
  unsigned long long plen;

  if (sealed_b64 != NULL)
    raw = g_base64_decode (sealed_b64, &len);
  if (raw == NULL || len != TSR_SEALED_KEY_LEN)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("The sealed file key is malformed"));
      return NULL;
    }
  key = key_alloc ();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt (key->bytes, &plen, NULL, raw + 24, len - 24, NULL,
                                                  0, raw, kek->bytes) != 0)
    {
      tsr_key_free (key);
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("The file key cannot be unsealed: wrong key or tampered manifest"));
      return NULL;
    }
  return key;
}

/**
 * tsr_chunk_cipher_preferred:
 *
 * The AEAD new uploads use: AES-256-GCM when this CPU has AES-NI and PCLMULQDQ (libsodium's
 * check), where it is fast and constant-time; XChaCha20-Poly1305 elsewhere (ARM boards, old
 * CPUs), where a software AES would be slow and leak timing.
 */
TsrChunkCipher
tsr_chunk_cipher_preferred (void)
{
  return crypto_aead_aes256gcm_is_available () ? TSR_CHUNK_CIPHER_AES256GCM
                                               : TSR_CHUNK_CIPHER_XCHACHA20POLY1305;
}

/* The names manifests use; libsodium's spelling. */
const char *
tsr_chunk_cipher_to_string (TsrChunkCipher cipher)
{
  return cipher == TSR_CHUNK_CIPHER_AES256GCM ? "aes256gcm" : "xchacha20poly1305";
}

gboolean
tsr_chunk_cipher_from_string (const char *name, TsrChunkCipher *cipher)
{
  if (g_strcmp0 (name, "xchacha20poly1305") == 0)
    *cipher = TSR_CHUNK_CIPHER_XCHACHA20POLY1305;
  else if (g_strcmp0 (name, "aes256gcm") == 0)
    *cipher = TSR_CHUNK_CIPHER_AES256GCM;
  else
    return FALSE;
  return TRUE;
}

static void
chunk_nonce (guint64 index, guint8 nonce[24], guint8 ad[8])
{
  guint64 le = GUINT64_TO_LE (index);

  memset (nonce, 0, 24);
  memcpy (nonce, &le, 8);
  memcpy (ad, &le, 8);
}

/* AES-256-GCM through GnuTLS (which wipes the context's key schedule on deinit). Setting up
 * a context costs about 0.2 us, so one is made per chunk: a context must not be shared by
 * threads, and downloads decrypt on many. The 96-bit nonce is the index's 8 bytes and 4 zeros. */
static gboolean
gcm_seal (const TsrKey *key, gboolean encrypt, const guint8 nonce[24], const guint8 ad[8],
          const guint8 *in, gsize in_len, guint8 *out, gsize *out_len)
{
  gnutls_datum_t k = { (unsigned char *)key->bytes, TSR_KEY_LEN };
  gnutls_aead_cipher_hd_t hd;
  int rc;

  rc = gnutls_aead_cipher_init (&hd, GNUTLS_CIPHER_AES_256_GCM, &k);
  g_assert (rc == 0); /* fails only for an unknown algorithm or out of memory */
  if (encrypt)
    rc = gnutls_aead_cipher_encrypt (hd, nonce, 12, ad, 8, TSR_CHUNK_OVERHEAD, in, in_len, out,
                                     out_len);
  else
    rc = gnutls_aead_cipher_decrypt (hd, nonce, 12, ad, 8, TSR_CHUNK_OVERHEAD, in, in_len, out,
                                     out_len);
  gnutls_aead_cipher_deinit (hd);
  return rc == 0;
}

/* Returns the sealed chunk: ciphertext followed by the 16-byte tag. */
GBytes *
tsr_chunk_encrypt (const TsrKey *key, TsrChunkCipher cipher, guint64 index, const guint8 *plain,
                   gsize len)
{
  guint8 nonce[24], ad[8];
  guint8 *out;
  gsize out_len = len + TSR_CHUNK_OVERHEAD;
  unsigned long long clen;

  g_return_val_if_fail (len <= G_MAXSIZE - TSR_CHUNK_OVERHEAD, NULL);
  out = g_malloc (out_len);
  chunk_nonce (index, nonce, ad);
  if (cipher == TSR_CHUNK_CIPHER_AES256GCM)
    {
      gboolean ok = gcm_seal (key, TRUE, nonce, ad, plain, len, out, &out_len);
      g_assert (ok && out_len == len + TSR_CHUNK_OVERHEAD);
      return g_bytes_new_take (out, out_len);
    }
  crypto_aead_xchacha20poly1305_ietf_encrypt (out, &clen, plain, len, ad, sizeof ad, NULL, nonce,
                                              key->bytes);
  return g_bytes_new_take (out, clen);
}

GBytes *
tsr_chunk_decrypt (const TsrKey *key, TsrChunkCipher cipher, guint64 index, const guint8 *sealed,
                   gsize len, GError **error)
{
  guint8 nonce[24], ad[8];
  guint8 *out;
  gsize out_len;
  gboolean ok;

  if (len < TSR_CHUNK_OVERHEAD)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, _ ("Chunk %llu is too short"),
                   (unsigned long long)index);
      return NULL;
    }
  chunk_nonce (index, nonce, ad);
  out_len = len - TSR_CHUNK_OVERHEAD;
  out = g_malloc (MAX (out_len, 1));
  if (cipher == TSR_CHUNK_CIPHER_AES256GCM)
    ok = gcm_seal (key, FALSE, nonce, ad, sealed, len, out, &out_len);
  else
    {
      unsigned long long plen;
      ok = crypto_aead_xchacha20poly1305_ietf_decrypt (out, &plen, NULL, sealed, len, ad, sizeof ad,
                                                       nonce, key->bytes) == 0;
      out_len = plen;
    }
  if (!ok)
    {
      g_free (out);
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("Chunk %llu failed authentication: it was altered"),
                   (unsigned long long)index);
      return NULL;
    }
  return g_bytes_new_take (out, out_len);
}
