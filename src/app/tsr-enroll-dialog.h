/* tsr-enroll-dialog.h: two-factor enrollment with a QR code and backup codes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"
#include "tsr-qr-code.h"

G_BEGIN_DECLS

#define TSR_TYPE_ENROLL_DIALOG (tsr_enroll_dialog_get_type ())
G_DECLARE_FINAL_TYPE (TsrEnrollDialog, tsr_enroll_dialog, TSR, ENROLL_DIALOG, AdwWindow)

TsrEnrollDialog *tsr_enroll_dialog_new (GtkWindow *parent, TsrBackend *backend);
TsrQrCode *tsr_enroll_dialog_get_qr_code (TsrEnrollDialog *self);
const char *tsr_enroll_dialog_get_secret (TsrEnrollDialog *self);
const char *tsr_enroll_dialog_get_page (TsrEnrollDialog *self);
const char *tsr_enroll_dialog_get_error (TsrEnrollDialog *self);
const char *tsr_enroll_dialog_get_backup_codes (TsrEnrollDialog *self);
const char *tsr_enroll_dialog_get_saved (TsrEnrollDialog *self);
void tsr_enroll_dialog_save_codes (TsrEnrollDialog *self, GFile *file);

G_END_DECLS
