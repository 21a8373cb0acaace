/* tsr-file-writer.h: a download's sequential write, on a thread of its own
 *
 * Writing a downloaded file costs a copy of every byte into the page cache, and on a virtual
 * machine whose guest memory the host reclaims, a fault for every new page: 0.6 to 2.8 s of
 * system time per GiB here. Done by the thread that also puts chunks in order and hashes
 * them, it held up the whole download. The writer collects the bytes in 1 MiB blocks and a
 * thread of its own writes them, so that cost overlaps the fetching, decryption and hashing
 * of the next blocks: a 512 MiB download went from 1.61 to 1.41 s.
 *
 * O_DIRECT was tried (no page cache at all, 0.2 s of system time per GiB for dd): downloads
 * became slower here (1.64 against 1.41 s, and more CPU), so writes go through the page cache.
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
void tsr_file_writer_free (TsrFileWriter *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrFileWriter, tsr_file_writer_free)

G_END_DECLS
