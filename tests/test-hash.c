/* test-hash.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

static void
test_known_vectors (void)
{
  char hex[TSR_SHA256_HEX_LEN + 1];

  tsr_sha256_hex ("abc", 3, hex);
  g_assert_cmpstr (hex, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  tsr_sha256_hex ("", 0, hex);
  g_assert_cmpstr (hex, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* GLib's portable SHA-256 is an independent implementation to check GnuTLS's against. */
static void
test_matches_gchecksum (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);

  for (gsize len = 0; len < 300000; len = len * 3 + 1)
    {
      g_autoptr (GBytes) data = tsr_test_random_bytes (rand, len);
      g_autofree char *expected = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);
      char hex[TSR_SHA256_HEX_LEN + 1];
      g_autoptr (TsrSha256) inc = tsr_sha256_new ();
      char inc_hex[TSR_SHA256_HEX_LEN + 1];
      const guint8 *p = g_bytes_get_data (data, NULL);

      tsr_sha256_hex (p, len, hex);
      g_assert_cmpstr (hex, ==, expected);

      /* Incremental hashing in uneven pieces gives the same digest. */
      for (gsize off = 0; off < len;)
        {
          gsize piece = g_rand_int_range (rand, 1, 70000);
          gsize n = MIN (len - off, piece);
          tsr_sha256_update (inc, p + off, n);
          off += n;
        }
      tsr_sha256_finish (inc, inc_hex);
      g_assert_cmpstr (inc_hex, ==, expected);
    }
}

static void
test_segment_id_validation (void)
{
  g_assert_true (
      tsr_segment_id_is_valid ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  g_assert_false (tsr_segment_id_is_valid (NULL));
  g_assert_false (tsr_segment_id_is_valid (""));
  g_assert_false (tsr_segment_id_is_valid ("../../etc/passwd"));
  /* uppercase, one short, one long, a slash, a NUL in the middle */
  g_assert_false (
      tsr_segment_id_is_valid ("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  g_assert_false (
      tsr_segment_id_is_valid ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
  g_assert_false (tsr_segment_id_is_valid (
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
  g_assert_false (
      tsr_segment_id_is_valid ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001/ad"));
  g_assert_false (
      tsr_segment_id_is_valid ("ba78\0"
                               "16bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tessera/hash/known-vectors", test_known_vectors);
  g_test_add_func ("/tessera/hash/matches-gchecksum", test_matches_gchecksum);
  g_test_add_func ("/tessera/hash/segment-id-validation", test_segment_id_validation);
  return g_test_run ();
}
