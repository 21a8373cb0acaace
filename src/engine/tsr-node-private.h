/* tsr-node-private.h: for tests only
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tsr-node.h"

G_BEGIN_DECLS

void _tsr_node_set_refuses_batches (TsrNode *self, gboolean refuses);

G_END_DECLS
