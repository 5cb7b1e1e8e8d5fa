/* ws_handshake.c - the server side of the RFC 6455 opening handshake (section 4.2): checks an HTTP/1.1
 * upgrade request and builds the answer, 101 Switching Protocols with Sec-WebSocket-Accept, or an HTTP
 * error that says what is wrong.
 *
 * No subprotocol and no extension is negotiated (permessage-deflate is declined by not answering it), so
 * every message arrives as sent. A pure function of the request bytes: websocket.c does the I/O. */
#include "websocket.h"

#include <glib.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The value of header name in the head (lines after the request line), trimmed, as a new string; NULL if
 * absent. Repeated headers are joined with ", " as HTTP allows for list values. */
static char *
_header(char **lines, const char *name)
{
  GString *value = NULL;
  size_t n = strlen(name);

  for (size_t i = 1; lines[i]; i++)
    if (g_ascii_strncasecmp(lines[i], name, n) == 0 && lines[i][n] == ':')
      {
        char *v = g_strstrip(g_strdup(lines[i] + n + 1));
        if (value)
          g_string_append(value, ", ");
        else
          value = g_string_new(NULL);
        g_string_append(value, v);
        g_free(v);
      }
  return value ? g_string_free(value, FALSE) : NULL;
}

/* Non-zero when the comma-separated list value contains token (case-insensitively). */
static int
_has_token(const char *value, const char *token)
{
  char **parts = value ? g_strsplit(value, ",", -1) : NULL;
  int found = 0;

  for (size_t i = 0; parts && parts[i] && !found; i++)
    found = g_ascii_strcasecmp(g_strstrip(parts[i]), token) == 0;
  g_strfreev(parts);
  return found;
}

static char *
_accept_key(const char *key)
{
  GChecksum *sha1 = g_checksum_new(G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize n = sizeof digest;

  g_checksum_update(sha1, (const guchar *)key, (gssize)strlen(key));
  g_checksum_update(sha1, (const guchar *)WS_GUID, (gssize)strlen(WS_GUID));
  g_checksum_get_digest(sha1, digest, &n);
  g_checksum_free(sha1);
  return g_base64_encode(digest, n);
}

/* A key is the base64 of 16 bytes (RFC 6455 4.1). */
static int
_key_valid(const char *key)
{
  gsize n = 0;
  guchar *raw;

  if (!key || strlen(key) != 24)
    return 0;
  raw = g_base64_decode(key, &n);
  g_free(raw);
  return n == 16;
}

static char *
_error(int status, const char *reason, const char *extra, const char *why)
{
  return g_strdup_printf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s"
                         "Connection: close\r\n\r\n%s\n",
                         status, reason, strlen(why) + 1, extra, why);
}

/* The request line "GET /path?query HTTP/1.1": the method and path checks. NULL when they pass. */
static char *
_check_request_line(const char *line, const char *path, const char **why)
{
  char **parts = g_strsplit(line, " ", -1);
  char *answer = NULL;

  if (g_strv_length(parts) != 3 || !g_str_has_prefix(parts[2], "HTTP/1."))
    answer = _error(400, "Bad Request", "", *why = "not an HTTP/1.1 request line");
  else if (strcmp(parts[0], "GET") != 0)
    answer = _error(405, "Method Not Allowed", "Allow: GET\r\n", *why = "method is not GET");
  else
    {
      char *q = strchr(parts[1], '?');
      if (q)
        *q = '\0';
      if (strcmp(parts[1], path) != 0)
        answer = _error(404, "Not Found", "", *why = "no WebSocket at this path");
    }
  g_strfreev(parts);
  return answer;
}

/* The upgrade headers: 101 with the accept key, or the error. */
static WsHandshake
_answer(char **lines, const char *path, char **response, const char **why)
{
  char *upgrade = _header(lines, "Upgrade"), *connection = _header(lines, "Connection");
  char *key = _header(lines, "Sec-WebSocket-Key"), *version = _header(lines, "Sec-WebSocket-Version");

  *response = _check_request_line(lines[0], path, why);
  if (*response)
    ;
  else if (!_has_token(upgrade, "websocket") || !_has_token(connection, "upgrade"))
    *response = _error(426, "Upgrade Required", "Upgrade: websocket\r\nConnection: Upgrade\r\n",
                       *why = "not a WebSocket upgrade request");
  else if (!version || strcmp(version, "13") != 0)
    *response = _error(426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                       *why = "Sec-WebSocket-Version is not 13");
  else if (!_key_valid(key))
    *response = _error(400, "Bad Request", "", *why = "missing or malformed Sec-WebSocket-Key");
  if (!*response)
    {
      char *accept = _accept_key(key);
      *response = g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                                  accept);
      g_free(accept);
    }
  g_free(upgrade);
  g_free(connection);
  g_free(key);
  g_free(version);
  return g_str_has_prefix(*response, "HTTP/1.1 101") ? WS_HS_UPGRADE : WS_HS_REFUSE;
}

WsHandshake
ws_handshake(const char *data, size_t len, const char *path, size_t *head_len, char **response,
             const char **why)
{
  const char *end = g_strstr_len(data, (gssize)MIN(len, WS_REQUEST_HEAD_MAX), "\r\n\r\n");

  *why = NULL;
  if (!end)
    {
      if (len < WS_REQUEST_HEAD_MAX)
        return WS_HS_NEED_MORE;
      *head_len = len;
      *response = _error(431, "Request Header Fields Too Large", "", *why = "request head over 8192 bytes");
      return WS_HS_REFUSE;
    }
  *head_len = (size_t)(end - data) + 4;
  char *head = g_strndup(data, (gsize)(end - data));
  char **lines = g_strsplit(head, "\r\n", -1);
  WsHandshake result = _answer(lines, path, response, why);
  g_strfreev(lines);
  g_free(head);
  return result;
}
