/*
 * fdio.h — writing a whole buffer to a descriptor, as every part that
 * writes files or sockets needs it (blocking descriptors: the history,
 * the metrics textfile, jgwctl's request).
 */
#ifndef JGW_FDIO_H
#define JGW_FDIO_H

#include <stdbool.h>
#include <stddef.h>

/* Write all len bytes, again after EINTR and short writes; false on an
 * error (errno says which) or a write that wrote nothing. */
bool fd_write_all(int fd, const void *buf, size_t len);

#endif
