/* tsr-hash.h: SHA-256 through GnuTLS (SHA-NI where the CPU has it)
 *
 * GLib's GChecksum and libsodium use portable SHA-256 at ~250 MB/s on our machines; GnuTLS
 * (nettle) uses SHA-NI at ~1,650 MB/s. Segment ids are hashes, so this is on every hot path.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_SHA256_LEN     32
#define TSR_SHA256_HEX_LEN 64

void tsr_sha256 (const void *data, gsize len, guint8 out[TSR_SHA256_LEN]);
void tsr_sha256_hex (const void *data, gsize len, char out[TSR_SHA256_HEX_LEN + 1]);
void tsr_hex_encode (const guint8 *bytes, gsize len, char *out);
gboolean tsr_segment_id_is_valid (const char *id);

typedef struct _TsrSha256 TsrSha256;

TsrSha256 *tsr_sha256_new (void);
void tsr_sha256_update (TsrSha256 *self, const void *data, gsize len);
void tsr_sha256_finish (TsrSha256 *self, char out[TSR_SHA256_HEX_LEN + 1]);
void tsr_sha256_free (TsrSha256 *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrSha256, tsr_sha256_free)

G_END_DECLS
