/* tessera.h: the engine's public headers in one include
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tsr-chunker.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-lock-file.h"
#include "tsr-segment-store.h"
