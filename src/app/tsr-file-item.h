/* tsr-file-item.h: one stored file, as the file list shows it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TSR_TYPE_FILE_ITEM (tsr_file_item_get_type ())
G_DECLARE_FINAL_TYPE (TsrFileItem, tsr_file_item, TSR, FILE_ITEM, GObject)

TsrFileItem *tsr_file_item_new (TsrManifest *manifest);
void tsr_file_item_set_manifest (TsrFileItem *self, TsrManifest *manifest);
const TsrManifest *tsr_file_item_get_manifest (TsrFileItem *self);
guint tsr_file_item_get_generation (TsrFileItem *self);
const char *tsr_file_item_get_file_id (TsrFileItem *self);
const char *tsr_file_item_get_name (TsrFileItem *self);
TsrFileHealthState tsr_file_item_get_health (TsrFileItem *self);
guint tsr_file_item_get_tolerance (TsrFileItem *self);
void tsr_file_item_update_health (TsrFileItem *self, TsrCluster *cluster);

G_END_DECLS
