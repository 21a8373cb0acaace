/* tsr-sign-in-page.h: sign in, or create an account
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"

G_BEGIN_DECLS

#define TSR_TYPE_SIGN_IN_PAGE (tsr_sign_in_page_get_type ())
G_DECLARE_FINAL_TYPE (TsrSignInPage, tsr_sign_in_page, TSR, SIGN_IN_PAGE, AdwBin)

void tsr_sign_in_page_set_backend (TsrSignInPage *self, TsrBackend *backend);
void tsr_sign_in_page_reset (TsrSignInPage *self);
const char *tsr_sign_in_page_get_error (TsrSignInPage *self);
GtkLabel *tsr_sign_in_page_get_error_label (TsrSignInPage *self);

G_END_DECLS
