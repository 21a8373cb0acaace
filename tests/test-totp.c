/* test-totp.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <string.h>

/* RFC 6238 Appendix B, the SHA1 rows (8 digits, the ASCII secret "12345678901234567890"). */
static void
test_rfc6238_vectors (void)
{
  const guint8 *secret = (const guint8 *)"12345678901234567890";
  const struct
  {
    gint64 time;
    guint32 code;
  } rows[] = {
    { 59, 94287082 },         { 1111111109, 7081804 },
    { 1111111111, 14050471 }, { 1234567890, 89005924 },
    { 2000000000, 69279037 }, { G_GINT64_CONSTANT (20000000000), 65353130 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    g_assert_cmpuint (tsr_hotp (secret, 20, rows[i].time / 30, 8), ==, rows[i].code);
}

static void
test_base32 (void)
{
  const char *secret = "12345678901234567890";
  g_autofree char *enc = tsr_base32_encode ((const guint8 *)secret, 20);
  g_autofree guint8 *dec = NULL;
  gsize len = 0;

  g_assert_cmpstr (enc, ==, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  dec = tsr_base32_decode ("gezd gnbv gy3t qojq GEZDGNBVGY3TQOJQ", &len);
  g_assert_cmpmem (dec, len, secret, 20);
  g_assert_null (tsr_base32_decode ("GEZD1", &len)); /* 1 is not in the alphabet */
  {
    g_autofree char *f = tsr_base32_encode ((const guint8 *)"f", 1);
    g_assert_cmpstr (f, ==, "MY");
  }
}

/* An independent implementation: oathtool from the oathtool package. */
static void
test_matches_oathtool (void)
{
  g_autofree char *oathtool = g_find_program_in_path ("oathtool");
  guint8 secret[TSR_TOTP_SECRET_LEN];
  g_autofree char *b32 = NULL;

  if (oathtool == NULL)
    {
      g_test_skip ("oathtool is not installed (build-aux installs it)");
      return;
    }
  for (guint i = 0; i < sizeof secret; i++)
    secret[i] = g_test_rand_int_range (0, 256);
  b32 = tsr_base32_encode (secret, sizeof secret);

  for (gint64 t = 1700000000; t < 1700000000 + 5 * 30; t += 30)
    {
      g_autofree char *at = g_strdup_printf ("@%" G_GINT64_FORMAT, t);
      const char *argv[] = { oathtool, "--totp", "-b", "-N", at, b32, NULL };
      g_autofree char *out = NULL;
      g_autofree char *ours = tsr_totp_code_at (secret, sizeof secret, t);
      g_autoptr (GError) error = NULL;
      int status;

      g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                   NULL, &status, &error));
      g_assert_no_error (error);
      g_strstrip (out);
      g_assert_cmpstr (out, ==, ours);
      g_assert_true (tsr_totp_verify (secret, sizeof secret, out, t, 1, NULL));
    }
}

static void
test_window (void)
{
  guint8 secret[TSR_TOTP_SECRET_LEN] = { 1, 2, 3 };
  gint64 now = 1800000000, step = -1;
  g_autofree char *current = tsr_totp_code_at (secret, sizeof secret, now);
  g_autofree char *previous = tsr_totp_code_at (secret, sizeof secret, now - 30);
  g_autofree char *two_ago = tsr_totp_code_at (secret, sizeof secret, now - 60);
  g_autofree char *next = tsr_totp_code_at (secret, sizeof secret, now + 30);

  g_assert_true (tsr_totp_verify (secret, sizeof secret, current, now, 1, &step));
  g_assert_cmpint (step, ==, now / 30);
  g_assert_true (tsr_totp_verify (secret, sizeof secret, previous, now, 1, &step));
  g_assert_cmpint (step, ==, now / 30 - 1);
  g_assert_true (tsr_totp_verify (secret, sizeof secret, next, now, 1, NULL));
  /* Two steps old is outside the window (unless it happens to collide). */
  if (strcmp (two_ago, current) != 0 && strcmp (two_ago, previous) != 0 &&
      strcmp (two_ago, next) != 0)
    g_assert_false (tsr_totp_verify (secret, sizeof secret, two_ago, now, 1, NULL));
  g_assert_false (tsr_totp_verify (secret, sizeof secret, "12345", now, 1, NULL));
  g_assert_false (tsr_totp_verify (secret, sizeof secret, "1234567", now, 1, NULL));
  g_assert_false (tsr_totp_verify (secret, sizeof secret, "12a456", now, 1, NULL));
  g_assert_false (tsr_totp_verify (secret, sizeof secret, NULL, now, 1, NULL));
}

static void
test_uri (void)
{
  g_autofree char *uri = tsr_totp_uri ("Tessera", "alice smith", "GEZDGNBV");

  g_assert_cmpstr (uri, ==, "otpauth://totp/Tessera:alice%20smith?secret=GEZDGNBV&issuer=Tessera");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tessera/totp/rfc6238-vectors", test_rfc6238_vectors);
  g_test_add_func ("/tessera/totp/base32", test_base32);
  g_test_add_func ("/tessera/totp/matches-oathtool", test_matches_oathtool);
  g_test_add_func ("/tessera/totp/window", test_window);
  g_test_add_func ("/tessera/totp/uri", test_uri);
  return g_test_run ();
}
