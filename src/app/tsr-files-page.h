/* tsr-files-page.h: the stored files, transfers, upload, download and delete
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"

G_BEGIN_DECLS

#define TSR_TYPE_FILES_PAGE (tsr_files_page_get_type ())
G_DECLARE_FINAL_TYPE (TsrFilesPage, tsr_files_page, TSR, FILES_PAGE, AdwBin)

void tsr_files_page_set_backend (TsrFilesPage *self, TsrBackend *backend);
GtkSearchBar *tsr_files_page_get_search_bar (TsrFilesPage *self);
GListModel *tsr_files_page_get_visible_files (TsrFilesPage *self);
const char *tsr_files_page_get_summary (TsrFilesPage *self);
TsrFileItem *tsr_files_page_get_selected (TsrFilesPage *self);
void tsr_files_page_select (TsrFilesPage *self, const char *file_id);
void tsr_files_page_search (TsrFilesPage *self, const char *text);
TsrTransfer *tsr_files_page_download_to (TsrFilesPage *self, TsrFileItem *item, GFile *file);

G_END_DECLS
