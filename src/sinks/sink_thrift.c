/* sink_thrift.c - the Thrift sink (type thrift): Flume's ThriftSink keys on the shared RPC sink cycle.
 *
 * Keys: hostname, port, batch-size, connect-timeout (enforced here, unlike Flume), request-timeout,
 * reset-connection-interval, protocol (compact | binary). Batches are cut to stay under the 16,384,000-byte
 * frame limit of Thrift servers. */
#include "rpc_protocols.h"
#include "sink_rpc.h"

typedef struct
{
  RelayRpcSink super;
  int protocol;
  gboolean kerberos;
  RelayThriftClientConfig thrift;
} RelayThriftSink;

static const char *const _protocols[] = { "compact", "binary", NULL };

static const RelayOption _options[] = {
  RELAY_RPC_SINK_OPTIONS(RelayThriftSink),
  RELAY_OPT_ENUM_ROW("protocol", "compact", _protocols, RelayThriftSink, protocol, 0, "Thrift protocol"),
  RELAY_OPT_BOOL_ROW("kerberos", "false", RelayThriftSink, kerberos, 0, "not supported (true: sink removed)"),
  RELAY_OPTION_END,
};

static gboolean
_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayThriftSink *self = (RelayThriftSink *)component;

  self->thrift.binary = self->protocol == 1;
  self->thrift.max_frame = 16384000;
  self->super.protocol = &relay_thrift_rpc_protocol;
  self->super.protocol_config = &self->thrift;
  if (self->kerberos)
    {
      relay_config_report_add(report, relay_component_config_get(cc, "kerberos"), cc->label, "kerberos",
                              "Kerberos (SASL) is not supported by relayd; sink %s removed", cc->name);
      return FALSE;
    }
  return relay_rpc_sink_check_common(&self->super, cc, report);
}

static gboolean
_knows_key(const char *key)
{
  static const char *const keys[] = { "client-principal", "client-keytab", "server-principal", NULL };
  return g_strv_contains(keys, key);
}

static const RelaySinkOps _ops = { relay_rpc_sink_process };

const RelayComponentClass relay_sink_thrift_class = {
  .kind = RELAY_KIND_SINK,
  .type = "thrift",
  .flume_class = "org.apache.flume.sink.ThriftSink",
  .description = "forwards batches to a Thrift RPC source (Flume ThriftSource or relayd)",
  .options = _options,
  .instance_size = sizeof(RelayThriftSink),
  .configure = _configure,
  .knows_key = _knows_key,
  .free = relay_rpc_sink_free,
  .start = relay_rpc_sink_start,
  .stop = relay_rpc_sink_stop,
  .ops = &_ops,
};
