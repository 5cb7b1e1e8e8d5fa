/* test_ws_frame.c - unit tests for the websocket plugin's pure parts: RFC 6455 frame headers, unmasking,
 * close payloads (ws_frame.c) and the opening handshake (ws_handshake.c).
 *
 * The handshake vector is RFC 6455 section 1.3's (key dGhlIHNhbXBsZSBub25jZQ==, accept
 * s3pPLMBiTxaQ9kYGzzhZRbK+xOo=); the frame vectors are section 5.7's ("Hello", masked and fragmented). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "websocket.h"

#include <string.h>

static WsParse
_parse(const uint8_t *data, size_t len, WsFrameHeader *hdr, const char **why)
{
  return ws_frame_parse_header(data, len, hdr, why);
}

static void
test_masked_hello(void **state)
{
  /* RFC 6455 5.7: a single-frame masked text message containing "Hello" */
  uint8_t frame[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
  WsFrameHeader hdr;
  const char *why;

  (void)state;
  for (size_t n = 0; n < 6; n++)
    assert_int_equal(_parse(frame, n, &hdr, &why), WS_PARSE_NEED_MORE);
  assert_int_equal(_parse(frame, sizeof frame, &hdr, &why), WS_PARSE_OK);
  assert_true(hdr.fin);
  assert_int_equal(hdr.opcode, WS_OP_TEXT);
  assert_int_equal(hdr.length, 5);
  assert_int_equal(hdr.header_len, 6);
  /* unmasking in two pieces continues at the right mask position */
  ws_frame_unmask(frame + 6, 2, hdr.mask, 0);
  ws_frame_unmask(frame + 8, 3, hdr.mask, 2);
  assert_memory_equal(frame + 6, "Hello", 5);
}

static void
test_protocol_errors(void **state)
{
  static const struct
  {
    uint8_t bytes[14];
    size_t len;
  } bad[] = {
    { { 0x81, 0x05 }, 2 },                                /* unmasked */
    { { 0xc1, 0x85 }, 2 },                                /* RSV1 without an extension */
    { { 0x83, 0x85 }, 2 },                                /* opcode 3 is reserved */
    { { 0x09, 0x80 }, 2 },                                /* fragmented ping */
    { { 0x89, 0xfe, 0x00, 0x7e }, 4 },                    /* ping of 126 bytes */
    { { 0x82, 0xfe, 0x00, 0x10 }, 4 },                    /* 16 in the 16-bit form */
    { { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 10 }, /* 65535 in the 64-bit form */
    { { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 10 },    /* top bit of the 64-bit length */
  };
  WsFrameHeader hdr;
  const char *why;

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      assert_int_equal(_parse(bad[i].bytes, bad[i].len, &hdr, &why), WS_PARSE_ERROR);
      assert_non_null(why);
    }
}

static void
test_lengths(void **state)
{
  uint8_t f16[] = { 0x02, 0xfe, 0x01, 0x00, 1, 2, 3, 4 };
  uint8_t f64[] = { 0x80, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4 };
  uint8_t out[WS_HEADER_MAX];
  WsFrameHeader hdr;
  const char *why;

  (void)state;
  assert_int_equal(_parse(f16, sizeof f16, &hdr, &why), WS_PARSE_OK);
  assert_false(hdr.fin);
  assert_int_equal(hdr.length, 256);
  assert_int_equal(hdr.header_len, 8);
  assert_int_equal(_parse(f64, sizeof f64, &hdr, &why), WS_PARSE_OK);
  assert_int_equal(hdr.opcode, WS_OP_CONTINUATION);
  assert_int_equal(hdr.length, 65536);
  assert_int_equal(ws_frame_header(out, WS_OP_TEXT, 5), 2);
  assert_int_equal(out[0], 0x81);
  assert_int_equal(ws_frame_header(out, WS_OP_BINARY, 256), 4);
  assert_int_equal(ws_frame_header(out, WS_OP_BINARY, 65536), 10);
  assert_int_equal(out[7], 1);
}

static void
test_close_payloads(void **state)
{
  const uint8_t ok[] = { 0x03, 0xe8, 'b', 'y', 'e' }, reserved[] = { 0x03, 0xed },
                bad_utf8[] = { 0x03, 0xe8, 0xff };
  int code;

  (void)state;
  assert_int_equal(ws_frame_check_close(NULL, 0, &code), 0);
  assert_int_equal(code, WS_CLOSE_NORMAL);
  assert_int_equal(ws_frame_check_close(ok, sizeof ok, &code), 0);
  assert_int_equal(code, 1000);
  assert_int_equal(ws_frame_check_close(ok, 1, &code), WS_CLOSE_PROTOCOL_ERROR);
  assert_int_equal(ws_frame_check_close(reserved, sizeof reserved, &code),
                   WS_CLOSE_PROTOCOL_ERROR); /* 1005 */
  assert_int_equal(ws_frame_check_close(bad_utf8, sizeof bad_utf8, &code), WS_CLOSE_INVALID_DATA);
}

static WsHandshake
_handshake(const char *request, char **response, const char **why)
{
  size_t head_len = 0;
  WsHandshake r = ws_handshake(request, strlen(request), "/chat", &head_len, response, why);

  if (r != WS_HS_NEED_MORE)
    assert_int_equal(head_len, strlen(request));
  return r;
}

static void
test_handshake(void **state)
{
  const char *req = "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n";
  char *resp = NULL;
  const char *why;

  (void)state;
  assert_int_equal(ws_handshake(req, 30, "/chat", &(size_t){ 0 }, &resp, &why), WS_HS_NEED_MORE);
  assert_int_equal(_handshake(req, &resp, &why), WS_HS_UPGRADE);
  assert_non_null(strstr(resp, "HTTP/1.1 101 "));
  assert_non_null(strstr(resp, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  g_free(resp);
}

static void
test_handshake_refused(void **state)
{
  static const struct
  {
    const char *request, *status;
  } cases[] = {
    { "GET /other HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", " 404 " },
    { "POST /chat HTTP/1.1\r\n\r\n", " 405 " },
    { "GET /chat HTTP/1.1\r\nHost: x\r\n\r\n", " 426 " },
    { "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n\r\n",
      " 426 " },
    { "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: short\r\n\r\n",
      " 400 " },
    { "hello\r\n\r\n", " 400 " },
  };
  char *resp;
  const char *why;

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      assert_int_equal(_handshake(cases[i].request, &resp, &why), WS_HS_REFUSE);
      assert_non_null(strstr(resp, cases[i].status));
      assert_non_null(why);
      g_free(resp);
    }
  char *big = g_strnfill(WS_REQUEST_HEAD_MAX, 'a');
  size_t head_len;
  assert_int_equal(ws_handshake(big, WS_REQUEST_HEAD_MAX, "/", &head_len, &resp, &why), WS_HS_REFUSE);
  assert_non_null(strstr(resp, " 431 "));
  g_free(resp);
  g_free(big);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_masked_hello), cmocka_unit_test(test_protocol_errors),
    cmocka_unit_test(test_lengths),      cmocka_unit_test(test_close_payloads),
    cmocka_unit_test(test_handshake),    cmocka_unit_test(test_handshake_refused),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
