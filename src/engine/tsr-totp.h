/* tsr-totp.h: RFC 6238 time-based one-time codes (HMAC-SHA1, 6 digits, 30 s steps)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_TOTP_STEP_SECONDS 30
#define TSR_TOTP_DIGITS       6
#define TSR_TOTP_SECRET_LEN   20 /* 160 bits, as RFC 4226 recommends */

char *tsr_base32_encode (const guint8 *data, gsize len);
guint8 *tsr_base32_decode (const char *text, gsize *out_len);

guint32 tsr_hotp (const guint8 *secret, gsize secret_len, guint64 counter, guint digits);
char *tsr_totp_code_at (const guint8 *secret, gsize secret_len, gint64 unix_time);
gboolean tsr_totp_verify (const guint8 *secret, gsize secret_len, const char *code,
                          gint64 unix_time, guint window, gint64 *matched_step);
char *tsr_totp_uri (const char *issuer, const char *account, const char *secret_base32);

G_END_DECLS
