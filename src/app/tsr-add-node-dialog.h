/* tsr-add-node-dialog.h: a machine of the user's, reached over SSH, becomes a node
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"

G_BEGIN_DECLS

#define TSR_TYPE_ADD_NODE_DIALOG (tsr_add_node_dialog_get_type ())
G_DECLARE_FINAL_TYPE (TsrAddNodeDialog, tsr_add_node_dialog, TSR, ADD_NODE_DIALOG, AdwWindow)

TsrAddNodeDialog *tsr_add_node_dialog_new (GtkWindow *parent, TsrBackend *backend);
void tsr_add_node_dialog_add (TsrAddNodeDialog *self);
const char *tsr_add_node_dialog_get_error (TsrAddNodeDialog *self);
gboolean tsr_add_node_dialog_is_busy (TsrAddNodeDialog *self);
AdwMessageDialog *tsr_add_node_dialog_get_host_key_question (TsrAddNodeDialog *self);
const char *tsr_add_node_dialog_get_shown_fingerprint (TsrAddNodeDialog *self);
AdwMessageDialog *tsr_add_node_dialog_get_passphrase_question (TsrAddNodeDialog *self);
AdwEntryRow *tsr_add_node_dialog_get_passphrase_row (AdwMessageDialog *question);

G_END_DECLS
