/* tsr-qr-code.h: a QR code drawn module by module, crisp at any size
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TSR_TYPE_QR_CODE (tsr_qr_code_get_type ())
G_DECLARE_FINAL_TYPE (TsrQrCode, tsr_qr_code, TSR, QR_CODE, GtkWidget)

GtkWidget *tsr_qr_code_new (void);
void tsr_qr_code_set_text (TsrQrCode *self, const char *text);
const char *tsr_qr_code_get_text (TsrQrCode *self);

G_END_DECLS
