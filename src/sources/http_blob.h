/* http_blob.h - the HTTP source's blob handler: the whole request body is one event.
 *
 * As Flume's BlobHandler (flume-ng-sinks/flume-ng-morphline-solr-sink/src/main/java/org/apache/flume/sink/
 * solr/morphline/BlobHandler.java): the event headers are the request's Content-Type (when sent) and every
 * query parameter (URL-decoded, the first value of a repeated name), and a body longer than
 * handler.maxBlobLength is refused (413; Flume cuts it, relayd does not store part of a request). relayd adds
 * handler.headers: request headers copied into event headers under their configured names. With Flume's
 * core BLOBHandler (org.apache.flume.source.http.BLOBHandler) handler.mandatoryParameters names query
 * parameters every request must carry (400 when one is missing). Thread: the caller's (the main loop). */
#ifndef RELAY_HTTP_BLOB_H_INCLUDED
#define RELAY_HTTP_BLOB_H_INCLUDED

#include "relay.h"
#include "http_request.h"

typedef struct
{
  gsize max_blob_length;
  char **copy_headers;   /* request header names to copy (NULL-terminated; may be NULL) */
  char **mandatory;      /* query parameters every request must carry (may be NULL) */
  gboolean content_type; /* add the Content-Type header (BlobHandler does, BLOBHandler does not) */
} RelayHttpBlobConfig;

/* Builds the event of request req (spans into buf) and appends it to events. Returns 0 or the HTTP status to
 * answer with the reason in why. */
int relay_http_blob_decode(const RelayHttpBlobConfig *cfg, const guint8 *buf, const RelayHttpRequest *req,
                           GPtrArray *events, char *why, gsize why_len);

#endif
