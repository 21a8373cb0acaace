/* tsr-window.h: the main window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-add-node-dialog.h"
#include "tsr-backend.h"
#include "tsr-enroll-dialog.h"
#include "tsr-files-page.h"
#include "tsr-nodes-page.h"
#include "tsr-sign-in-page.h"
#include "tsr-network-page.h"
#include "tsr-storage-page.h"
#include "tsr-topology-page.h"

G_BEGIN_DECLS

#define TSR_TYPE_WINDOW (tsr_window_get_type ())
G_DECLARE_FINAL_TYPE (TsrWindow, tsr_window, TSR, WINDOW, AdwApplicationWindow)

TsrWindow *tsr_window_new (GtkApplication *app, TsrBackend *backend);
TsrBackend *tsr_window_get_backend (TsrWindow *self);
const char *tsr_window_get_visible_page (TsrWindow *self);
void tsr_window_set_visible_page (TsrWindow *self, const char *name);
TsrSignInPage *tsr_window_get_sign_in_page (TsrWindow *self);
TsrFilesPage *tsr_window_get_files_page (TsrWindow *self);
TsrNodesPage *tsr_window_get_nodes_page (TsrWindow *self);
TsrTopologyPage *tsr_window_get_topology_page (TsrWindow *self);
TsrStoragePage *tsr_window_get_storage_page (TsrWindow *self);
TsrNetworkPage *tsr_window_get_network_page (TsrWindow *self);
GtkDropTarget *tsr_window_get_drop_target (TsrWindow *self);
TsrEnrollDialog *tsr_window_get_enroll_dialog (TsrWindow *self);
TsrAddNodeDialog *tsr_window_get_add_node_dialog (TsrWindow *self);
void tsr_window_toast (TsrWindow *self, const char *message);
void tsr_window_toast_for (GtkWidget *widget, const char *message);
GStrv tsr_window_get_toast_titles (TsrWindow *self);
AdwMessageDialog *tsr_window_new_risky_question (GtkWindow *parent, const char *heading,
                                                 const char *body, const char *response,
                                                 const char *label);

G_END_DECLS
