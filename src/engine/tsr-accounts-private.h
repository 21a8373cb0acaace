/* tsr-accounts-private.h: for tests only
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tsr-accounts.h"

G_BEGIN_DECLS

const char *_tsr_accounts_get_dummy_password_hash (void);

G_END_DECLS
