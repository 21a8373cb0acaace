/* test-crypto.c: chunk sealing with both AEADs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <sodium.h>
#include <string.h>

static const TsrChunkCipher ciphers[] = { TSR_CHUNK_CIPHER_XCHACHA20POLY1305,
                                          TSR_CHUNK_CIPHER_AES256GCM };

static void
test_round_trip (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  g_autoptr (TsrKey) key = tsr_key_new_random ();
  const gsize sizes[] = { 0, 1, 15, 16, 17, 65535, 65536, 1024 * 1024 };

  for (guint c = 0; c < G_N_ELEMENTS (ciphers); c++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        g_autoptr (GBytes) plain = tsr_test_random_bytes (rand, sizes[i]);
        g_autoptr (GBytes) sealed =
            tsr_chunk_encrypt (key, ciphers[c], i, g_bytes_get_data (plain, NULL), sizes[i]);
        g_autoptr (GBytes) back = NULL;
        g_autoptr (GError) error = NULL;

        g_assert_cmpuint (g_bytes_get_size (sealed), ==, sizes[i] + TSR_CHUNK_OVERHEAD);
        back = tsr_chunk_decrypt (key, ciphers[c], i, g_bytes_get_data (sealed, NULL),
                                  g_bytes_get_size (sealed), &error);
        g_assert_no_error (error);
        g_assert_true (g_bytes_equal (back, plain));
      }
}

/* A flipped bit anywhere, another position (index), another key or the other cipher: each is
 * refused as CORRUPT and yields no plaintext. */
static void
test_tampering_refused (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (12);
  g_autoptr (TsrKey) key = tsr_key_new_random ();
  g_autoptr (TsrKey) other = tsr_key_new_random ();
  g_autoptr (GBytes) plain = tsr_test_random_bytes (rand, 4096);

  for (guint c = 0; c < G_N_ELEMENTS (ciphers); c++)
    {
      g_autoptr (GBytes) sealed =
          tsr_chunk_encrypt (key, ciphers[c], 7, g_bytes_get_data (plain, NULL), 4096);
      gsize len;
      g_autofree guint8 *bytes = g_bytes_unref_to_data (g_bytes_ref (sealed), &len);
      const gsize flips[] = { 0, 1000, len - TSR_CHUNK_OVERHEAD, len - 1 };
      GBytes *back;
      g_autoptr (GError) error = NULL;

      for (guint i = 0; i < G_N_ELEMENTS (flips); i++)
        {
          bytes[flips[i]] ^= 0x01;
          back = tsr_chunk_decrypt (key, ciphers[c], 7, bytes, len, &error);
          g_assert_null (back);
          g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
          g_clear_error (&error);
          bytes[flips[i]] ^= 0x01;
        }
      back = tsr_chunk_decrypt (key, ciphers[c], 8, bytes, len, &error);
      g_assert_null (back);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_clear_error (&error);
      back = tsr_chunk_decrypt (other, ciphers[c], 7, bytes, len, &error);
      g_assert_null (back);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_clear_error (&error);
      back = tsr_chunk_decrypt (key, ciphers[1 - c], 7, bytes, len, &error);
      g_assert_null (back);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_clear_error (&error);
      back = tsr_chunk_decrypt (key, ciphers[c], 7, bytes, TSR_CHUNK_OVERHEAD - 1, &error);
      g_assert_null (back);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_clear_error (&error);

      /* Untouched, it still opens. */
      back = tsr_chunk_decrypt (key, ciphers[c], 7, bytes, len, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, plain));
      g_bytes_unref (back);
    }
}

/* The on-disk format, checked against libsodium, an independent implementation of both:
 * the nonce is the chunk index in 8 little-endian bytes padded with zeros (to 24 bytes for
 * XChaCha20-Poly1305, 12 for AES-256-GCM), and the associated data is the same 8 bytes. */
static void
test_format_matches_libsodium (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  g_autoptr (TsrKey) key = tsr_key_new_random ();
  g_autoptr (GBytes) plain = tsr_test_random_bytes (rand, 65536);
  const guint64 index = 0x0102030405060708;
  guint8 nonce[24] = { 0 }, ad[8];
  guint64 le = GUINT64_TO_LE (index);
  g_autofree guint8 *expected = g_malloc (65536 + TSR_CHUNK_OVERHEAD);
  unsigned long long elen;

  memcpy (nonce, &le, 8);
  memcpy (ad, &le, 8);
  for (guint c = 0; c < G_N_ELEMENTS (ciphers); c++)
    {
      g_autoptr (GBytes) sealed =
          tsr_chunk_encrypt (key, ciphers[c], index, g_bytes_get_data (plain, NULL), 65536);

      if (ciphers[c] == TSR_CHUNK_CIPHER_AES256GCM)
        {
          if (!crypto_aead_aes256gcm_is_available ())
            {
              g_test_message ("libsodium has no AES-256-GCM on this CPU: compared XChaCha only");
              continue;
            }
          crypto_aead_aes256gcm_encrypt (expected, &elen, g_bytes_get_data (plain, NULL), 65536, ad,
                                         8, NULL, nonce, key->bytes);
        }
      else
        crypto_aead_xchacha20poly1305_ietf_encrypt (expected, &elen, g_bytes_get_data (plain, NULL),
                                                    65536, ad, 8, NULL, nonce, key->bytes);
      g_assert_cmpmem (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed), expected, elen);
    }
}

static void
test_names (void)
{
  TsrChunkCipher c = TSR_CHUNK_CIPHER_AES256GCM;

  for (guint i = 0; i < G_N_ELEMENTS (ciphers); i++)
    {
      g_assert_true (tsr_chunk_cipher_from_string (tsr_chunk_cipher_to_string (ciphers[i]), &c));
      g_assert_cmpint (c, ==, ciphers[i]);
    }
  g_assert_cmpstr (tsr_chunk_cipher_to_string (TSR_CHUNK_CIPHER_AES256GCM), ==, "aes256gcm");
  g_assert_cmpstr (tsr_chunk_cipher_to_string (TSR_CHUNK_CIPHER_XCHACHA20POLY1305), ==,
                   "xchacha20poly1305");
  g_assert_false (tsr_chunk_cipher_from_string ("aes128gcm", &c));
  g_assert_false (tsr_chunk_cipher_from_string ("", &c));
  g_assert_false (tsr_chunk_cipher_from_string (NULL, &c));
  /* AES-256-GCM is chosen exactly where libsodium finds AES-NI and PCLMULQDQ. */
  g_assert_cmpint (tsr_chunk_cipher_preferred (), ==,
                   crypto_aead_aes256gcm_is_available () ? TSR_CHUNK_CIPHER_AES256GCM
                                                         : TSR_CHUNK_CIPHER_XCHACHA20POLY1305);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tsr_crypto_init (NULL));

  g_test_add_func ("/tessera/crypto/round-trip", test_round_trip);
  g_test_add_func ("/tessera/crypto/tampering-refused", test_tampering_refused);
  g_test_add_func ("/tessera/crypto/format-matches-libsodium", test_format_matches_libsodium);
  g_test_add_func ("/tessera/crypto/names", test_names);

  return g_test_run ();
}
