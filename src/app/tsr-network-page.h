/* tsr-network-page.h: the emulated network: profile, link settings, live statistics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"

G_BEGIN_DECLS

#define TSR_TYPE_NETWORK_PAGE (tsr_network_page_get_type ())
G_DECLARE_FINAL_TYPE (TsrNetworkPage, tsr_network_page, TSR, NETWORK_PAGE, AdwBin)

void tsr_network_page_set_backend (TsrNetworkPage *self, TsrBackend *backend);
void tsr_network_page_select_profile (TsrNetworkPage *self, const char *profile);
void tsr_network_page_apply_custom (TsrNetworkPage *self, const char *bandwidth,
                                    const char *latency, const char *loss);
const char *tsr_network_page_get_error (TsrNetworkPage *self);
const char *tsr_network_page_get_totals_text (TsrNetworkPage *self);
const char *tsr_network_page_get_node_text (TsrNetworkPage *self, guint index);

G_END_DECLS
