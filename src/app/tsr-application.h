/* tsr-application.h: the Tessera desktop app
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"

G_BEGIN_DECLS

#define TSR_TYPE_APPLICATION (tsr_application_get_type ())
G_DECLARE_FINAL_TYPE (TsrApplication, tsr_application, TSR, APPLICATION, AdwApplication)

TsrApplication *tsr_application_new (void);
TsrBackend *tsr_application_get_backend (TsrApplication *self);
void tsr_application_set_accels (GtkApplication *app);

G_END_DECLS
