/* ws_frame.c - the RFC 6455 base framing protocol (section 5) as pure functions: client frame headers with
 * every check the RFC makes of them, unmasking, server frame headers, close payloads, UTF-8.
 *
 * Nothing here allocates or does I/O: websocket.c feeds bytes and acts on the results, so the checks can be
 * tested (and fuzzed) alone. */
#include "websocket.h"

#include <glib.h>
#include <string.h>

static int
_known_opcode(int op)
{
  return op == WS_OP_CONTINUATION || op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CLOSE
         || op == WS_OP_PING || op == WS_OP_PONG;
}

/* The payload length after the 7-bit field (RFC 6455 5.2): 126 and 127 announce 2 and 8 more bytes. */
static WsParse
_length(const uint8_t *data, size_t len, WsFrameHeader *hdr, size_t *pos, const char **why)
{
  unsigned len7 = data[1] & 0x7f;
  size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;

  if (len < 2 + ext)
    return WS_PARSE_NEED_MORE;
  hdr->length = ext ? 0 : len7;
  for (size_t i = 0; i < ext; i++)
    hdr->length = (hdr->length << 8) | data[2 + i];
  *pos = 2 + ext;
  if (ext == 8 && (data[2] & 0x80))
    *why = "64-bit payload length with the most significant bit set";
  else if ((ext == 2 && hdr->length < 126) || (ext == 8 && hdr->length <= 0xffff))
    *why = "payload length not in its minimal encoding";
  return *why ? WS_PARSE_ERROR : WS_PARSE_OK;
}

WsParse
ws_frame_parse_header(const uint8_t *data, size_t len, WsFrameHeader *hdr, const char **why)
{
  size_t pos = 0;

  *why = NULL;
  if (len < 2)
    return WS_PARSE_NEED_MORE;
  hdr->fin = (data[0] & 0x80) != 0;
  hdr->opcode = data[0] & 0x0f;
  if (data[0] & 0x70)
    *why = "reserved bit set (no extension was negotiated)";
  else if (!_known_opcode(hdr->opcode))
    *why = "unknown opcode";
  else if (!(data[1] & 0x80))
    *why = "unmasked client frame";
  if (*why)
    return WS_PARSE_ERROR;
  WsParse r = _length(data, len, hdr, &pos, why);
  if (r != WS_PARSE_OK)
    return r;
  if ((hdr->opcode & 0x8) && (!hdr->fin || hdr->length > WS_CONTROL_MAX))
    {
      *why = "fragmented or longer than 125 bytes control frame";
      return WS_PARSE_ERROR;
    }
  if (len < pos + 4)
    return WS_PARSE_NEED_MORE;
  memcpy(hdr->mask, data + pos, 4);
  hdr->header_len = pos + 4;
  return WS_PARSE_OK;
}

void
ws_frame_unmask(uint8_t *data, size_t len, const uint8_t mask[4], size_t pos)
{
  for (size_t i = 0; i < len; i++)
    data[i] ^= mask[(pos + i) & 3];
}

size_t
ws_frame_header(uint8_t *out, int opcode, uint64_t length)
{
  out[0] = (uint8_t)(0x80 | opcode);
  if (length < 126)
    {
      out[1] = (uint8_t)length;
      return 2;
    }
  if (length <= 0xffff)
    {
      out[1] = 126;
      out[2] = (uint8_t)(length >> 8);
      out[3] = (uint8_t)length;
      return 4;
    }
  out[1] = 127;
  for (int i = 0; i < 8; i++)
    out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
  return 10;
}

/* Codes a peer may send (RFC 6455 7.4: 1004-1006 and 1015 are never sent; 3000-4999 are registered or
 * private). */
static int
_valid_code(int code)
{
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

int
ws_frame_check_close(const uint8_t *payload, size_t len, int *code)
{
  *code = WS_CLOSE_NORMAL;
  if (len == 0)
    return 0;
  if (len == 1)
    return WS_CLOSE_PROTOCOL_ERROR;
  *code = (payload[0] << 8) | payload[1];
  if (!_valid_code(*code))
    return WS_CLOSE_PROTOCOL_ERROR;
  return ws_utf8_valid(payload + 2, len - 2) ? 0 : WS_CLOSE_INVALID_DATA;
}

int
ws_utf8_valid(const uint8_t *data, size_t len)
{
  return g_utf8_validate_len((const char *)data, len, NULL);
}
