/* spooldir_reader.h - reading one spooled file into events: Flume's LINE and BLOB deserializers with
 * inputCharset, decodeErrorPolicy and outputCharset.
 *
 * The reader knows the byte offset just after the last event it returned, so the source can record it once
 * that event is committed and a new reader can start there after a crash.
 *
 * Threads: the main loop (reads are bounded: at most one batch per call). */
#ifndef RELAY_SPOOLDIR_READER_H_INCLUDED
#define RELAY_SPOOLDIR_READER_H_INCLUDED

#include "relay.h"
#include "event.h"

typedef enum
{
  RELAY_SPOOL_LINE = 0,
  RELAY_SPOOL_BLOB,
} RelaySpoolDeserializer;

typedef enum
{
  RELAY_SPOOL_DECODE_FAIL = 0,
  RELAY_SPOOL_DECODE_REPLACE,
  RELAY_SPOOL_DECODE_IGNORE,
} RelaySpoolDecodePolicy;

typedef struct
{
  RelaySpoolDeserializer kind;
  gint64 max_line; /* LINE: bytes per event; longer lines are cut, the rest is the next event */
  gint64 max_blob; /* BLOB: bytes per event */
  const char *input_charset;
  const char *output_charset;
  RelaySpoolDecodePolicy policy;
} RelaySpoolReaderConfig;

typedef enum
{
  RELAY_SPOOL_READ_EVENTS = 0, /* out got at least one event */
  RELAY_SPOOL_READ_EOF,        /* nothing left */
  RELAY_SPOOL_READ_ERROR,      /* a decode error (policy FAIL) or an I/O error; events before it are in out */
} RelaySpoolReadResult;

typedef struct _RelaySpoolReader RelaySpoolReader;

/* Opens path and positions it at offset (a file shorter than offset is an error). config is copied (its
 * strings must outlive the reader). file_size is the size the file had when it was picked up. */
RelaySpoolReader *relay_spool_reader_open(const char *path, gint64 offset, gint64 file_size,
                                          const RelaySpoolReaderConfig *config, GError **error);
/* Appends up to max events (each with the given headers) to out. A file of zero bytes yields one event with
 * an empty body, as Flume. */
RelaySpoolReadResult relay_spool_reader_read(RelaySpoolReader *self, guint max, const RelayHeader *headers,
                                             guint n_headers, GPtrArray *out, GError **error);
/* Offset just after the last event returned. */
gint64 relay_spool_reader_offset(const RelaySpoolReader *self);
/* Lines cut because they were longer than max_line (since open). */
guint64 relay_spool_reader_cut_lines(const RelaySpoolReader *self);
void relay_spool_reader_free(RelaySpoolReader *self);

/* TRUE when charset is known to iconv and ASCII-compatible (lines are split on '\n' bytes). */
gboolean relay_spool_charset_usable(const char *charset);

#endif
