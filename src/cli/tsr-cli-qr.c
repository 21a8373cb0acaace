/* tsr-cli-qr.c: the two-factor enrollment QR code, on a terminal and as a PNG file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <errno.h>
#include <qrencode.h>
#include <string.h>
#include <zlib.h>

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

/* A grayscale PNG, written atomically, crisp: whole pixels per module. */
gboolean
tsr_cli_write_qr_png (const char *text, const char *path, GError **error)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr (QRcode) qr = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_autoptr (GError) local_error = NULL;
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

  if (!g_file_set_contents_full (path, (const char *)png->data, png->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot write %s: %s"), path,
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}
