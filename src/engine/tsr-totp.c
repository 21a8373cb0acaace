/* tsr-totp.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-totp.h"

#include <gnutls/crypto.h>
#include <sodium.h>
#include <string.h>

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* RFC 4648 base32 without padding, as authenticator apps expect in otpauth URIs. */
char *
tsr_base32_encode (const guint8 *data, gsize len)
{
  GString *out = g_string_sized_new ((len * 8 + 4) / 5 + 1);
  guint32 buffer = 0;
  int bits = 0;

  for (gsize i = 0; i < len; i++)
    {
      buffer = (buffer << 8) | data[i];
      bits += 8;
      while (bits >= 5)
        {
          g_string_append_c (out, b32_alphabet[(buffer >> (bits - 5)) & 31]);
          bits -= 5;
        }
    }
  if (bits > 0)
    g_string_append_c (out, b32_alphabet[(buffer << (5 - bits)) & 31]);
  return g_string_free (out, FALSE);
}

/* Accepts upper or lower case, ignores spaces and '=' padding; NULL on any other character. */
guint8 *
tsr_base32_decode (const char *text, gsize *out_len)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint32 buffer = 0;
  int bits = 0;

  for (const char *p = text; *p != '\0'; p++)
    {
      const char *pos;
      char c = g_ascii_toupper (*p);

      if (c == ' ' || c == '=' || c == '-')
        continue;
      pos = c != '\0' ? strchr (b32_alphabet, c) : NULL;
      if (pos == NULL)
        return NULL;
      buffer = (buffer << 5) | (guint32)(pos - b32_alphabet);
      bits += 5;
      if (bits >= 8)
        {
          guint8 byte = (buffer >> (bits - 8)) & 0xff;
          g_byte_array_append (out, &byte, 1);
          bits -= 8;
        }
    }
  *out_len = out->len;
  return g_byte_array_free (g_steal_pointer (&out), FALSE);
}

/* RFC 4226 HOTP with HMAC-SHA1 and dynamic truncation. */
guint32
tsr_hotp (const guint8 *secret, gsize secret_len, guint64 counter, guint digits)
{
  guint8 msg[8], mac[20];
  guint32 bin, mod = 1;
  int offset, rc;

  for (int i = 7; i >= 0; i--)
    {
      msg[i] = counter & 0xff;
      counter >>= 8;
    }
  rc = gnutls_hmac_fast (GNUTLS_MAC_SHA1, secret, secret_len, msg, sizeof msg, mac);
  g_assert (rc == 0);
  offset = mac[19] & 0x0f;
  bin = ((guint32)(mac[offset] & 0x7f) << 24) | ((guint32)mac[offset + 1] << 16) |
        ((guint32)mac[offset + 2] << 8) | mac[offset + 3];
  for (guint i = 0; i < digits; i++)
    mod *= 10;
  sodium_memzero (mac, sizeof mac);
  return bin % mod;
}

char *
tsr_totp_code_at (const guint8 *secret, gsize secret_len, gint64 unix_time)
{
  guint64 step = (guint64)(unix_time / TSR_TOTP_STEP_SECONDS);

  return g_strdup_printf ("%0*u", TSR_TOTP_DIGITS,
                          tsr_hotp (secret, secret_len, step, TSR_TOTP_DIGITS));
}

/**
 * tsr_totp_verify:
 * @code: what the user typed (spaces allowed)
 * @window: how many 30-second steps either side are accepted
 * @matched_step: (out) (optional): the step the code belongs to, for replay prevention
 *
 * Compares in constant time against every step in the window.
 */
gboolean
tsr_totp_verify (const guint8 *secret, gsize secret_len, const char *code, gint64 unix_time,
                 guint window, gint64 *matched_step)
{
  char digits[TSR_TOTP_DIGITS + 1];
  gsize n = 0;
  gint64 now_step = unix_time / TSR_TOTP_STEP_SECONDS;
  gboolean found = FALSE;

  if (code == NULL)
    return FALSE;
  for (const char *p = code; *p != '\0'; p++)
    {
      if (*p == ' ')
        continue;
      if (!g_ascii_isdigit (*p) || n >= TSR_TOTP_DIGITS)
        return FALSE;
      digits[n++] = *p;
    }
  if (n != TSR_TOTP_DIGITS)
    return FALSE;
  digits[n] = '\0';

  for (gint64 step = now_step - window; step <= now_step + (gint64)window; step++)
    {
      char expected[TSR_TOTP_DIGITS + 1];

      if (step < 0)
        continue;
      g_snprintf (expected, sizeof expected, "%0*u", TSR_TOTP_DIGITS,
                  tsr_hotp (secret, secret_len, (guint64)step, TSR_TOTP_DIGITS));
      if (sodium_memcmp (expected, digits, TSR_TOTP_DIGITS) == 0 && !found)
        {
          found = TRUE;
          if (matched_step != NULL)
            *matched_step = step;
        }
    }
  return found;
}

/* otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER (Key Uri Format). */
char *
tsr_totp_uri (const char *issuer, const char *account, const char *secret_base32)
{
  g_autofree char *label_issuer = g_uri_escape_string (issuer, NULL, FALSE);
  g_autofree char *label_account = g_uri_escape_string (account, NULL, FALSE);

  return g_strdup_printf ("otpauth://totp/%s:%s?secret=%s&issuer=%s", label_issuer, label_account,
                          secret_base32, label_issuer);
}
