/* tsr-backend.h: the engine as the app sees it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tessera.h"
#include "tsr-file-item.h"
#include "tsr-transfer.h"

G_BEGIN_DECLS

#define TSR_BACKEND_COALESCE_MS 250 /* live views update at most four times a second */

#define TSR_TYPE_BACKEND (tsr_backend_get_type ())
G_DECLARE_FINAL_TYPE (TsrBackend, tsr_backend, TSR, BACKEND, GObject)

TsrBackend *tsr_backend_new (const char *data_dir);
void tsr_backend_start (TsrBackend *self);
void tsr_backend_shutdown (TsrBackend *self);
const char *tsr_backend_get_data_dir (TsrBackend *self);
gboolean tsr_backend_get_accounts_ready (TsrBackend *self);
gboolean tsr_backend_get_cluster_ready (TsrBackend *self);
const char *tsr_backend_get_start_error (TsrBackend *self);
guint tsr_backend_get_health_interval (TsrBackend *self);
void tsr_backend_set_health_interval (TsrBackend *self, guint seconds);
TsrCluster *tsr_backend_get_cluster (TsrBackend *self);
TsrAccounts *tsr_backend_get_accounts (TsrBackend *self);

/* accounts */
const char *tsr_backend_get_username (TsrBackend *self);
gboolean tsr_backend_user_has_otp (TsrBackend *self, const char *username);
int tsr_backend_get_backup_codes_left (TsrBackend *self);
void tsr_backend_sign_in_async (TsrBackend *self, const char *username, const char *password,
                                const char *code, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_backend_sign_in_finish (TsrBackend *self, GAsyncResult *result, GError **error);
void tsr_backend_register_async (TsrBackend *self, const char *username, const char *email,
                                 const char *password, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_backend_register_finish (TsrBackend *self, GAsyncResult *result, GError **error);
void tsr_backend_sign_out (TsrBackend *self);
void tsr_backend_otp_begin_async (TsrBackend *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
TsrOtpEnrollment *tsr_backend_otp_begin_finish (TsrBackend *self, GAsyncResult *result,
                                                GError **error);
void tsr_backend_otp_confirm_async (TsrBackend *self, const char *password,
                                    const char *current_code, const char *code,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean tsr_backend_otp_confirm_finish (TsrBackend *self, GAsyncResult *result, GError **error);
void tsr_backend_otp_disable_async (TsrBackend *self, const char *password, const char *code,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean tsr_backend_otp_disable_finish (TsrBackend *self, GAsyncResult *result, GError **error);

/* files and transfers */
GListModel *tsr_backend_get_files (TsrBackend *self);
GListModel *tsr_backend_get_transfers (TsrBackend *self);
void tsr_backend_upload_files (TsrBackend *self, GList *files);
TsrTransfer *tsr_backend_download (TsrBackend *self, TsrFileItem *item, GFile *destination);
void tsr_backend_cancel_transfers (TsrBackend *self);
void tsr_backend_delete_async (TsrBackend *self, const char *file_id, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_backend_delete_finish (TsrBackend *self, GAsyncResult *result, GError **error);
void tsr_backend_load_manifest_async (TsrBackend *self, const char *file_id,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
TsrManifest *tsr_backend_load_manifest_finish (TsrBackend *self, GAsyncResult *result,
                                               GError **error);

/* nodes */
GPtrArray *tsr_backend_get_nodes (TsrBackend *self);
void tsr_backend_set_node_enabled_async (TsrBackend *self, const char *node_id, gboolean enabled,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
gboolean tsr_backend_set_node_enabled_finish (TsrBackend *self, GAsyncResult *result,
                                              GError **error);
void tsr_backend_refresh (TsrBackend *self);

/* the emulated network */
void tsr_backend_set_netem_async (TsrBackend *self, const char *profile,
                                  const TsrNetemSettings *settings, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_backend_set_netem_finish (TsrBackend *self, GAsyncResult *result, GError **error);

G_END_DECLS
