/* tsr-cli-qr.c: the two-factor enrollment QR code, on a terminal and as a PNG file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <errno.h>
#include <fcntl.h>
#include <qrencode.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <glib/gstdio.h>

#include "tsr-cli.h"

#define QUIET_ZONE 4 /* modules of light border that scanners need; libqrencode adds none */
#define PNG_SCALE  8 /* pixels per module */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QRcode, QRcode_free)

static gboolean
dark (const QRcode *qr, int x, int y)
{
  x -= QUIET_ZONE;
  y -= QUIET_ZONE;
  if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
    return FALSE;
  return qr->data[y * qr->width + x] & 1;
}

/* Two module rows per text row with Unicode half blocks. Light modules are drawn (terminals
 * are mostly light-on-dark), so the code reads dark-on-light as scanners expect. */
void
tsr_cli_print_qr (const char *text, FILE *out)
{
  g_autoptr (QRcode) qr = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  int n;

  if (qr == NULL)
    return;
  n = qr->width + 2 * QUIET_ZONE;
  for (int y = 0; y < n; y += 2)
    {
      for (int x = 0; x < n; x++)
        {
          gboolean top = !dark (qr, x, y), bottom = y + 1 < n && !dark (qr, x, y + 1);
          fputs (top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ", out);
        }
      fputc ('\n', out);
    }
}

static void
png_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 len)
{
  guint8 be[4] = { len >> 24, len >> 16, len >> 8, len };
  uLong crc = crc32 (0, (const Bytef *)type, 4);

  g_byte_array_append (png, be, 4);
  g_byte_array_append (png, (const guint8 *)type, 4);
  if (len > 0)
    {
      g_byte_array_append (png, data, len);
      crc = crc32 (crc, data, len);
    }
  be[0] = crc >> 24;
  be[1] = crc >> 16;
  be[2] = crc >> 8;
  be[3] = crc;
  g_byte_array_append (png, be, 4);
}

static void
set_exists_error (GError **error, const char *path)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS,
               _ ("%s already exists: not overwriting it; choose another path for the QR code, or "
                  "remove the file first"),
               path);
}

static void
set_write_error (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot write %s: %s"), path,
               g_strerror (saved_errno));
}

static gboolean
write_fd (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return fsync (fd) == 0;
}

/* Creates @path with @data, never replacing what is there: the enrollment QR code must not
 * destroy a file (or a device, or a symlink's target) that a mistyped path names. The image is
 * written to a temporary file beside it and hard-linked into place, which fails when anything
 * has the name, and leaves no half-written file under it. Where hard links are not supported
 * (FAT, some network filesystems), an exclusive create does the same minus the atomicity. */
static gboolean
write_new_file (const char *path, const guint8 *data, gsize len, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp_name = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, tmp_name, NULL);
  int fd, saved_errno;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_write_error (error, path, errno);
      return FALSE;
    }
  if (!write_fd (fd, data, len))
    {
      saved_errno = errno;
      close (fd);
      g_unlink (tmp);
      set_write_error (error, path, saved_errno);
      return FALSE;
    }
  close (fd);
  if (link (tmp, path) == 0)
    {
      g_unlink (tmp);
      return TRUE;
    }
  saved_errno = errno;
  g_unlink (tmp);
  if (saved_errno == EEXIST)
    {
      set_exists_error (error, path);
      return FALSE;
    }
  if (saved_errno != EPERM && saved_errno != EOPNOTSUPP && saved_errno != ENOSYS &&
      saved_errno != EMLINK)
    {
      set_write_error (error, path, saved_errno);
      return FALSE;
    }

  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      if (saved_errno == EEXIST)
        set_exists_error (error, path);
      else
        set_write_error (error, path, saved_errno);
      return FALSE;
    }
  if (!write_fd (fd, data, len))
    {
      saved_errno = errno;
      close (fd);
      g_unlink (path); /* ours: it was created just now */
      set_write_error (error, path, saved_errno);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Whether a QR code could be written to @path: nothing has that name and its folder can be
 * written. Asked before the enrollment starts, so that a mistyped path costs nothing;
 * tsr_cli_write_qr_png() still refuses to replace a file that appears in the meantime. */
gboolean
tsr_cli_check_qr_png_path (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  GStatBuf st;

  if (g_lstat (path, &st) == 0)
    {
      set_exists_error (error, path);
      return FALSE;
    }
  if (errno != ENOENT)
    {
      set_write_error (error, path, errno);
      return FALSE;
    }
  if (g_access (dir, W_OK) != 0)
    {
      set_write_error (error, path, errno);
      return FALSE;
    }
  return TRUE;
}

/* A grayscale PNG, crisp: whole pixels per module; never over an existing file (TSR_ERROR_EXISTS).
 */
gboolean
tsr_cli_write_qr_png (const char *text, const char *path, GError **error)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr (QRcode) qr = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_autofree guint8 *raw = NULL;
  g_autofree guint8 *packed = NULL;
  guint32 side, row_len;
  uLongf packed_len;
  guint8 ihdr[13];

  if (qr == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Cannot make a QR code: %s"),
                   g_strerror (errno));
      return FALSE;
    }
  side = (guint32)(qr->width + 2 * QUIET_ZONE) * PNG_SCALE;
  row_len = side + 1; /* a filter byte, then one byte a pixel */
  raw = g_malloc ((gsize)row_len * side);
  for (guint32 y = 0; y < side; y++)
    {
      guint8 *row = raw + (gsize)y * row_len;
      row[0] = 0;
      for (guint32 x = 0; x < side; x++)
        row[1 + x] = dark (qr, x / PNG_SCALE, y / PNG_SCALE) ? 0 : 255;
    }
  packed_len = compressBound ((uLong)row_len * side);
  packed = g_malloc (packed_len);
  if (compress2 (packed, &packed_len, raw, (uLong)row_len * side, 9) != Z_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Cannot compress the QR image"));
      return FALSE;
    }

  ihdr[0] = side >> 24;
  ihdr[1] = side >> 16;
  ihdr[2] = side >> 8;
  ihdr[3] = side;
  memcpy (ihdr + 4, ihdr, 4);
  ihdr[8] = 8;  /* bits per sample */
  ihdr[9] = 0;  /* grayscale */
  ihdr[10] = 0; /* deflate */
  ihdr[11] = 0; /* adaptive filtering */
  ihdr[12] = 0; /* no interlace */
  g_byte_array_append (png, signature, sizeof signature);
  png_chunk (png, "IHDR", ihdr, sizeof ihdr);
  png_chunk (png, "IDAT", packed, packed_len);
  png_chunk (png, "IEND", NULL, 0);

  return write_new_file (path, png->data, png->len, error);
}
