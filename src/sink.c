/* sink.c - the sink base: dispatch of process() to the class's RelaySinkOps and status names.
 *
 * A sink class's ops pointer is a `const RelaySinkOps`; the base has no state of its own beyond RelaySink
 * (channel, counters, abort flag), which the component layer allocates and frees. */
#include "sink.h"

const char *
relay_sink_status_name(RelaySinkStatus status)
{
  switch (status)
    {
    case RELAY_SINK_READY:
      return "READY";
    case RELAY_SINK_BACKOFF:
      return "BACKOFF";
    case RELAY_SINK_FAILED:
      return "FAILED";
    }
  return "?";
}

/* Runs in: the sink's runner thread. */
RelaySinkStatus
relay_sink_process(RelaySink *self)
{
  const RelaySinkOps *ops = self->super.klass->ops;

  return ops->process(self);
}
