/* tsr-storage-page.h: used and free space, per node and in all
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"

G_BEGIN_DECLS

#define TSR_TYPE_STORAGE_PAGE (tsr_storage_page_get_type ())
G_DECLARE_FINAL_TYPE (TsrStoragePage, tsr_storage_page, TSR, STORAGE_PAGE, AdwBin)

void tsr_storage_page_set_backend (TsrStoragePage *self, TsrBackend *backend);
const char *tsr_storage_page_get_total_text (TsrStoragePage *self);
double tsr_storage_page_get_total_fraction (TsrStoragePage *self);
const char *tsr_storage_page_get_free_text (TsrStoragePage *self);

gboolean tsr_storage_page_is_rebalancing (TsrStoragePage *self);
const char *tsr_storage_page_get_rebalance_result (TsrStoragePage *self);
const char *tsr_storage_page_get_node_text (TsrStoragePage *self, const char *node_id);

G_END_DECLS
