/* tsr-hash.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tsr-hash.h"

#include <string.h>

#include <gnutls/crypto.h>

struct _TsrSha256
{
  gnutls_hash_hd_t hd;
};

void
tsr_hex_encode (const guint8 *bytes, gsize len, char *out)
{
  static const char digits[] = "0123456789abcdef";

  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
  out[2 * len] = '\0';
}

void
tsr_sha256 (const void *data, gsize len, guint8 out[TSR_SHA256_LEN])
{
  /* gnutls_hash_fast only fails for an unknown algorithm or out of memory. */
  int rc = gnutls_hash_fast (GNUTLS_DIG_SHA256, data, len, out);
  g_assert (rc == 0);
}

void
tsr_sha256_hex (const void *data, gsize len, char out[TSR_SHA256_HEX_LEN + 1])
{
  guint8 digest[TSR_SHA256_LEN];

  tsr_sha256 (data, len, digest);
  tsr_hex_encode (digest, sizeof digest, out);
}

/**
 * tsr_segment_id_is_valid:
 * @id: (nullable): a candidate segment id, possibly from the network
 *
 * A segment id is exactly 64 lowercase hex characters, the SHA-256 of the stored bytes.
 * Anything else is refused before it can reach a path.
 */
gboolean
tsr_segment_id_is_valid (const char *id)
{
  /* Without a branch per character: opening a store checks every id it lists, and random
   * hex mispredicted the per-character test often enough to be a tenth of the time. */
  static const guint8 is_hex[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
  };
  guint8 ok = 1;

  if (id == NULL || strnlen (id, TSR_SHA256_HEX_LEN + 1) != TSR_SHA256_HEX_LEN)
    return FALSE;
  for (guint i = 0; i < TSR_SHA256_HEX_LEN; i++)
    ok &= is_hex[(guchar)id[i]];
  return ok;
}

TsrSha256 *
tsr_sha256_new (void)
{
  TsrSha256 *self = g_new0 (TsrSha256, 1);
  int rc = gnutls_hash_init (&self->hd, GNUTLS_DIG_SHA256);
  g_assert (rc == 0);
  return self;
}

void
tsr_sha256_update (TsrSha256 *self, const void *data, gsize len)
{
  int rc = gnutls_hash (self->hd, data, len);
  g_assert (rc == 0);
}

/* Finishes the digest; the hasher may not be updated again. */
void
tsr_sha256_finish (TsrSha256 *self, char out[TSR_SHA256_HEX_LEN + 1])
{
  guint8 digest[TSR_SHA256_LEN];

  gnutls_hash_output (self->hd, digest);
  tsr_hex_encode (digest, sizeof digest, out);
}

void
tsr_sha256_free (TsrSha256 *self)
{
  if (self == NULL)
    return;
  gnutls_hash_deinit (self->hd, NULL);
  g_free (self);
}
