/* test_log_target.c - unit tests for src/log_target.c (issue 15): the journal's native protocol (fields, the
 * binary form of a value holding a newline, detail keys that clash with the journal's own fields, a detail
 * at the very start, a quoted value) and the syslog datagram (PRI from facility and level). The test binds
 * the datagram socket relayd writes to. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static char *_dir, *_path;
static int _fd = -1;

static int
_setup(void **state)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  _dir = g_dir_make_tmp("relayd-logtarget-XXXXXX", NULL);
  _path = g_build_filename(_dir, "sock", NULL);
  g_strlcpy(addr.sun_path, _path, sizeof addr.sun_path);
  _fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_int_equal(bind(_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  relay_log_set_level(RELAY_LOG_DEBUG);
  return 0;
}

static int
_teardown(void **state)
{
  assert_true(relay_log_set_target(RELAY_LOG_TARGET_STDERR, LOG_DAEMON, NULL, NULL));
  close(_fd);
  unlink(_path);
  rmdir(_dir);
  g_free(_path);
  g_free(_dir);
  return 0;
}

/* The next datagram (NUL-terminated copy); its length in *len. */
static char *
_receive(gssize *len)
{
  char buf[65536];
  gssize n = recv(_fd, buf, sizeof buf, MSG_DONTWAIT);

  assert_true(n > 0);
  *len = n;
  char *copy = g_malloc((gsize)n + 1); /* not g_strndup: the journal's binary form holds NUL bytes */
  memcpy(copy, buf, (gsize)n);
  copy[n] = '\0';
  return copy;
}

static void
test_journal_fields(void **state)
{
  gssize len;

  assert_true(relay_log_set_target(RELAY_LOG_TARGET_JOURNAL, LOG_LOCAL2, _path, NULL));
  relay_warn("source:netcat:r1",
             "peer=10.0.0.1:5 sent junk message=hello what=\"two words\" error=No such file");
  char *d = _receive(&len);
  assert_non_null(
      strstr(d, "MESSAGE=[source:netcat:r1] peer=10.0.0.1:5 sent junk message=hello what=\"two words\" "
                "error=No such file\n"));
  assert_non_null(strstr(d, "\nPRIORITY=4\n"));
  assert_non_null(strstr(d, "\nSYSLOG_FACILITY=18\n"));
  assert_non_null(strstr(d, "\nSYSLOG_IDENTIFIER=relayd\n"));
  assert_non_null(strstr(d, "\nCOMPONENT=source:netcat:r1\n"));
  assert_non_null(strstr(d, "\nPEER=10.0.0.1:5 sent junk\n")); /* a value runs to the next key= */
  assert_non_null(strstr(d, "\nDETAIL_MESSAGE=hello\n"));      /* never a second MESSAGE */
  assert_non_null(strstr(d, "\nWHAT=two words\n"));
  assert_non_null(strstr(d, "\nERROR=No such file\n"));
  assert_int_equal((gssize)strlen(d), len);
  g_free(d);

  relay_error(NULL, "bad line=first\nsecond");
  d = _receive(&len);
  const char binary[] = "\nLINE\n\x0c\0\0\0\0\0\0\0first\nsecond\n";
  assert_non_null(memmem(d, (gsize)len, binary, sizeof binary - 1));
  assert_non_null(memmem(d, (gsize)len, "MESSAGE\n", 8)); /* the message holds the newline too */
  assert_null(memmem(d, (gsize)len, "COMPONENT=", 10));
  g_free(d);
}

static void
test_syslog_datagram(void **state)
{
  gssize len;

  assert_true(relay_log_set_target(RELAY_LOG_TARGET_SYSLOG, LOG_LOCAL7, _path, NULL));
  relay_debug("sink:avro:k1", "connected peer=h:1");
  char *d = _receive(&len);
  char *want = g_strdup_printf(" relayd[%d]: [sink:avro:k1] connected peer=h:1", (int)getpid());
  assert_true(g_str_has_prefix(d, "<191>")); /* local7 (23) * 8 + debug (7) */
  assert_true(g_str_has_suffix(d, want));
  assert_int_equal(len, (gssize)strlen(d)); /* no newline, no NUL */
  g_free(want);
  g_free(d);
}

static void
test_parse(void **state)
{
  RelayLogTarget t;
  int f;

  assert_true(relay_log_parse_target("Journal", &t));
  assert_int_equal(t, RELAY_LOG_TARGET_JOURNAL);
  assert_false(relay_log_parse_target("file", &t));
  assert_true(relay_log_parse_facility("local3", &f));
  assert_int_equal(f, LOG_LOCAL3);
  assert_false(relay_log_parse_facility("local8", &f));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_journal_fields, _setup, _teardown),
    cmocka_unit_test_setup_teardown(test_syslog_datagram, _setup, _teardown),
    cmocka_unit_test(test_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
