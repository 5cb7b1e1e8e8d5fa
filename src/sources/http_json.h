/* http_json.h - Flume's JSONHandler format for the HTTP source: a JSON array of
 * {"headers": {"k": "v", ...}, "body": "..."} objects, one event each.
 *
 * As flume-ng-core/src/main/java/org/apache/flume/source/http/JSONHandler.java: the charset comes from the
 * Content-Type's charset parameter (UTF-8 when absent; UTF-16 and UTF-32 too), every body string becomes the
 * event body encoded in that charset, a missing body is empty, members other than headers and body are
 * ignored, header values and bodies that are numbers or booleans are taken as their text (Gson's String
 * adapter does the same). relayd's additions: the number of events is checked against max_events as each
 * object starts (before it is built), nesting of ignored members is bounded, strings must be valid UTF-8,
 * and every refusal says where (byte offset, element) and why. Thread: the caller's (the main loop). */
#ifndef RELAY_HTTP_JSON_H_INCLUDED
#define RELAY_HTTP_JSON_H_INCLUDED

#include "relay.h"
#include "http_request.h"

/* Decodes the body pieces (spans into buf) and appends new events to events. Returns 0, or the HTTP status
 * to answer (400 malformed, 413 over max_events, 415 unsupported charset) with the reason in why. On error
 * events is left as it was. charset: the Content-Type's charset parameter value, NULL for UTF-8. */
int relay_http_json_decode(const guint8 *buf, const RelayHttpSpan *pieces, guint n_pieces,
                           const char *charset, guint max_events, GPtrArray *events, char *why,
                           gsize why_len);

/* The charset parameter of a Content-Type value (new string, NULL when absent). */
char *relay_http_content_type_charset(const char *content_type, gsize len);

#endif
