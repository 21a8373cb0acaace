/* tsr-notifier.h: email notices over SMTP (the seed's EmailNotifier)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_TYPE_NOTIFIER (tsr_notifier_get_type ())
G_DECLARE_FINAL_TYPE (TsrNotifier, tsr_notifier, TSR, NOTIFIER, GObject)

TsrNotifier *tsr_notifier_load (const char *path, GError **error);
gboolean tsr_notifier_send (TsrNotifier *self, const char *to, const char *subject,
                            const char *body, GError **error);

G_END_DECLS
