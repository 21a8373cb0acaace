/* tsr-file-writer.h: a download's sequential write, on a thread of its own, past the page
 * cache
 *
 * Writing a downloaded file costs a copy of every byte into the page cache, and on a virtual
 * machine whose guest memory the host reclaims, a fault for every page the guest has not used
 * lately: 0.6 to 2.8 s of system time per GiB here. The writer collects the bytes in 1 MiB
 * blocks and a thread of its own writes them with O_DIRECT, so the device's time overlaps the
 * fetching, decryption and hashing of the next blocks, and a large download does not push
 * the user's other files out of the page cache. Alternating 512 MiB downloads into new files
 * (2026-11-28): 1.10-1.55 s with O_DIRECT, 1.43-2.69 s through the page cache. Only where
 * the same amount of page cache had just been freed (the same file downloaded again and
 * again) was the page cache faster: 1.41 against 1.64 s. Where O_DIRECT is refused (tmpfs,
 * some FUSE and network file systems), the writer falls back to the page cache.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TsrFileWriter TsrFileWriter;

TsrFileWriter *tsr_file_writer_new (int fd, const char *name);
gboolean tsr_file_writer_write (TsrFileWriter *self, const void *data, gsize len, GError **error);
gboolean tsr_file_writer_finish (TsrFileWriter *self, GError **error);
gboolean tsr_file_writer_is_direct (TsrFileWriter *self);
void tsr_file_writer_free (TsrFileWriter *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrFileWriter, tsr_file_writer_free)

G_END_DECLS
