/* tsr-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tsr-error.h"

#include <errno.h>
#include <gio/gio.h>

G_DEFINE_QUARK (tsr - error - quark, tsr_error)

/* Stable names, used on the wire (docs/protocol.md) and in --json output. */
const char *
tsr_error_code_to_string (TsrError code)
{
  switch (code)
    {
      case TSR_ERROR_FAILED:
        return "FAILED";
      case TSR_ERROR_INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
      case TSR_ERROR_NOT_FOUND:
        return "NOT_FOUND";
      case TSR_ERROR_CORRUPT:
        return "CORRUPT";
      case TSR_ERROR_NO_SPACE:
        return "NO_SPACE";
      case TSR_ERROR_BUSY:
        return "BUSY";
      case TSR_ERROR_IO:
        return "IO";
      case TSR_ERROR_PROTOCOL:
        return "PROTOCOL";
      case TSR_ERROR_TOO_LARGE:
        return "TOO_LARGE";
      case TSR_ERROR_AUTH:
        return "AUTH";
      case TSR_ERROR_IDENTITY:
        return "IDENTITY";
      case TSR_ERROR_TIMEOUT:
        return "TIMEOUT";
      case TSR_ERROR_STOPPED:
        return "STOPPED";
      case TSR_ERROR_CANCELLED:
        return "CANCELLED";
      case TSR_ERROR_CLOSED:
        return "CLOSED";
      case TSR_ERROR_UNREACHABLE:
        return "UNREACHABLE";
      case TSR_ERROR_EXISTS:
        return "EXISTS";
      case TSR_ERROR_HOST_KEY_UNKNOWN:
        return "HOST_KEY_UNKNOWN";
      case TSR_ERROR_KEY_LOCKED:
        return "KEY_LOCKED";
      case TSR_ERROR_CHANGED:
        return "CHANGED";
      case TSR_ERROR_CODE_NEEDED:
        return "CODE_NEEDED";
      default:
        return "UNKNOWN";
    }
}

/**
 * tsr_set_error_from_errno:
 * @errsv: the saved errno
 * @format: what was being done, for the first half of the message
 *
 * Maps the errno values a user can act on to specific codes, so that a full disk reads as
 * %TSR_ERROR_NO_SPACE everywhere, not as a generic I/O failure.
 */
void
tsr_set_error_from_errno (GError **error, int errsv, const char *format, ...)
{
  g_autofree char *what = NULL;
  TsrError code;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  switch (errsv)
    {
      case ENOSPC:
      case EDQUOT:
        code = TSR_ERROR_NO_SPACE;
        break;
      case ENOENT:
        code = TSR_ERROR_NOT_FOUND;
        break;
      case EACCES:
      case EPERM:
      case EROFS:
      default:
        code = TSR_ERROR_IO;
        break;
    }
  g_set_error (error, TSR_ERROR, code, "%s: %s", what, g_strerror (errsv));
}

/**
 * tsr_propagate_stream_error:
 * @stream_error: (transfer full): a GIO stream's error
 *
 * Sets @error to @stream_error as a %TSR_ERROR: %TSR_ERROR_CANCELLED, %TSR_ERROR_TIMEOUT, or
 * %TSR_ERROR_IO for the rest (a broken pipe, a reset: the connection is gone, which callers
 * retry or take as the node being down). Keeps the stream's message: it is what says which
 * connection failed and how.
 */
void
tsr_propagate_stream_error (GError **error, GError *stream_error)
{
  TsrError code = TSR_ERROR_IO;

  if (stream_error->domain == TSR_ERROR)
    {
      g_propagate_error (error, stream_error);
      return;
    }
  if (g_error_matches (stream_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    code = TSR_ERROR_CANCELLED;
  else if (g_error_matches (stream_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    code = TSR_ERROR_TIMEOUT;
  g_set_error_literal (error, TSR_ERROR, code, stream_error->message);
  g_error_free (stream_error);
}
