/* tessera.h: the engine's public headers in one include
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tsr-accounts.h"
#include "tsr-chunker.h"
#include "tsr-cluster.h"
#include "tsr-cluster-config.h"
#include "tsr-crypto.h"
#include "tsr-error.h"
#include "tsr-file-writer.h"
#include "tsr-frame.h"
#include "tsr-hash.h"
#include "tsr-identity.h"
#include "tsr-lock-file.h"
#include "tsr-maintenance.h"
#include "tsr-manifest.h"
#include "tsr-netem.h"
#include "tsr-node.h"
#include "tsr-node-client.h"
#include "tsr-notifier.h"
#include "tsr-priority.h"
#include "tsr-remote-add.h"
#include "tsr-remotes.h"
#include "tsr-segment-store.h"
#include "tsr-ssh-key.h"
#include "tsr-ssh-manager.h"
#include "tsr-ssh-provision.h"
#include "tsr-ssh-session.h"
#include "tsr-tls.h"
#include "tsr-totp.h"
#include "tsr-trust-store.h"
