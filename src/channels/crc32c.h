/* crc32c.h - CRC-32C (Castagnoli) checksums for the file channel's records and checkpoints.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time), otherwise a
 * slicing-by-8 table. Both give the standard CRC-32C: relay_crc32c(0, "123456789", 9) == 0xE3069283.
 * Thread-safe: the tables are built once, the rest is pure. */
#ifndef RELAY_CRC32C_H_INCLUDED
#define RELAY_CRC32C_H_INCLUDED

#include "relay.h"

/* Continues a checksum: pass 0 to start, or the result of a previous call to extend it over more bytes. */
guint32 relay_crc32c(guint32 crc, const void *data, gsize len);

/* The portable table implementation (exposed so tests can compare it with the hardware path). */
guint32 relay_crc32c_sw(guint32 crc, const void *data, gsize len);

#endif
