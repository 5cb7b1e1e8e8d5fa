/* fuzz_config.c - libFuzzer target: a configuration file through everything `relayd --check` runs
 * (src/main.c _configure): the properties parser (src/props.c), ${...} resolution, stage-1 grouping
 * (src/config.c), building and configuring every component (src/agent_build.c, each component's options)
 * and the monitoring keys. Nothing is started: no socket, thread or file is opened.
 *
 * The agent is named by the first input byte (a1, or the agents of conf/relayd.conf: edge, collector, demo),
 * so seeds written for any of them work and the fuzzer also reaches the "no such agent" path. Checks beyond
 * "no crash": every report line is non-empty text without a newline (one problem, one line); the report is
 * counted exactly; a configuration without any report line and with a runnable agent is runnable again when
 * parsed a second time (parsing is pure). */
#include "fuzz_common.h"

#include "agent.h"
#include "config.h"
#include "monitor.h"
#include "props.h"

static gboolean
_check_once(const char *name, const char *text, guint *problems)
{
  RelayProps *props = relay_props_new();
  RelayConfigReport *report = relay_config_report_new();
  RelayMonitorConfig mc;
  RelayAgent *agent = relay_agent_new(name, NULL);

  relay_monitor_config_init(&mc);
  relay_props_load_string(props, "fuzz.conf", text, report);
  relay_props_resolve(props, report);
  RelayAgentConfig *cfg = relay_agent_config_new(props, name, report);
  gboolean ok = cfg && relay_agent_configure(agent, cfg, report);
  if (cfg)
    relay_monitor_config_apply_props(&mc, cfg->monitoring, report);

  relay_config_report_finish(report); /* as main.c does: alike problems beyond a few become one summary line */
  /* every problem is counted: the lines printed (less the summaries) plus those the summaries stand for */
  FUZZ_CHECK(relay_config_report_count(report) >= report->lines->len - report->n_summaries);
  for (guint i = 0; i < report->lines->len; i++)
    {
      const char *line = g_ptr_array_index(report->lines, i);
      FUZZ_CHECK(line[0] && !strchr(line, '\n'));
    }
  *problems = report->lines->len;
  relay_agent_free(agent);
  relay_agent_config_free(cfg);
  relay_monitor_config_clear(&mc);
  relay_config_report_free(report);
  relay_props_free(props);
  return ok;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  static const char *const names[] = { "a1", "edge", "collector", "demo" };
  guint problems, again;

  fuzz_init_once();
  if (size == 0)
    return 0;
  const char *name = names[data[0] & 3];
  char *text = g_strndup((const char *)data + 1, size - 1); /* a file's text ends at a NUL for the parser */
  gboolean ok = _check_once(name, text, &problems);
  gboolean ok2 = _check_once(name, text, &again);
  FUZZ_CHECK(ok == ok2 && problems == again);
  g_free(text);
  return 0;
}
