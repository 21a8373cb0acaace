/* tsr-error.h: the TSR_ERROR domain shared by every Tessera component
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_ERROR (tsr_error_quark ())

/**
 * TsrError:
 * @TSR_ERROR_FAILED: an operation failed for a reason with no more specific code
 * @TSR_ERROR_INVALID_ARGUMENT: a caller or a peer passed a malformed value
 * @TSR_ERROR_NOT_FOUND: the requested segment, file or node does not exist
 * @TSR_ERROR_CORRUPT: stored or received data failed its integrity check
 * @TSR_ERROR_NO_SPACE: the write would pass the capacity or the disk is full
 * @TSR_ERROR_BUSY: the resource is in use by another process
 * @TSR_ERROR_IO: the operating system refused a read or write
 * @TSR_ERROR_PROTOCOL: a peer sent something the wire protocol does not allow
 * @TSR_ERROR_TOO_LARGE: a length field or request exceeds its limit
 * @TSR_ERROR_AUTH: authentication failed or is required
 * @TSR_ERROR_IDENTITY: a peer's certificate does not match its pinned identity
 * @TSR_ERROR_TIMEOUT: a peer did not answer in time
 * @TSR_ERROR_STOPPED: the node is stopped
 * @TSR_ERROR_CANCELLED: the operation was cancelled
 * @TSR_ERROR_CLOSED: the peer closed the connection between frames
 * @TSR_ERROR_UNREACHABLE: a node could not be connected to (down, stopped, wrong address)
 * @TSR_ERROR_EXISTS: the target already exists and overwriting was not asked for
 * @TSR_ERROR_HOST_KEY_UNKNOWN: an SSH host is not in known_hosts and its key was not accepted:
 *   show its fingerprint, and connect again with it if the user accepts it
 * @TSR_ERROR_KEY_LOCKED: an SSH key is encrypted and its passphrase was not given, or was
 *   wrong: ask the user for it, and try again with it
 * @TSR_ERROR_CHANGED: a file changed while it was read (an upload): try again once nothing
 *   writes to it
 * @TSR_ERROR_CODE_NEEDED: the password was right, and the account also wants a two-factor
 *   code, which was not given: ask for one and try again
 */
typedef enum
{
  TSR_ERROR_FAILED,
  TSR_ERROR_INVALID_ARGUMENT,
  TSR_ERROR_NOT_FOUND,
  TSR_ERROR_CORRUPT,
  TSR_ERROR_NO_SPACE,
  TSR_ERROR_BUSY,
  TSR_ERROR_IO,
  TSR_ERROR_PROTOCOL,
  TSR_ERROR_TOO_LARGE,
  TSR_ERROR_AUTH,
  TSR_ERROR_IDENTITY,
  TSR_ERROR_TIMEOUT,
  TSR_ERROR_STOPPED,
  TSR_ERROR_CANCELLED,
  TSR_ERROR_CLOSED,
  TSR_ERROR_UNREACHABLE,
  TSR_ERROR_EXISTS,
  TSR_ERROR_HOST_KEY_UNKNOWN,
  TSR_ERROR_KEY_LOCKED,
  TSR_ERROR_CHANGED,
  TSR_ERROR_CODE_NEEDED,
} TsrError;

GQuark tsr_error_quark (void);

const char *tsr_error_code_to_string (TsrError code);

void tsr_set_error_from_errno (GError **error, int errsv, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
void tsr_propagate_stream_error (GError **error, GError *stream_error);

G_END_DECLS
