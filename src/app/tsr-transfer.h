/* tsr-transfer.h: one running upload or download, for its progress row
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  TSR_TRANSFER_UPLOAD,
  TSR_TRANSFER_DOWNLOAD,
} TsrTransferKind;

#define TSR_TYPE_TRANSFER (tsr_transfer_get_type ())
G_DECLARE_FINAL_TYPE (TsrTransfer, tsr_transfer, TSR, TRANSFER, GObject)

TsrTransfer *tsr_transfer_new (TsrTransferKind kind, const char *name, guint64 total);
TsrTransferKind tsr_transfer_get_kind (TsrTransfer *self);
const char *tsr_transfer_get_name (TsrTransfer *self);
GCancellable *tsr_transfer_get_cancellable (TsrTransfer *self);
void tsr_transfer_cancel (TsrTransfer *self);
guint64 tsr_transfer_get_done (TsrTransfer *self);
void tsr_transfer_set_progress (TsrTransfer *self, guint64 done, guint64 total, double rate);

G_END_DECLS
