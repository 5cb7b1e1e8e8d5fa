/* sink_avro.c - the Avro sink (type avro): Flume's AvroSink keys on the shared RPC sink cycle.
 *
 * Keys: hostname, port, batch-size, connect-timeout, request-timeout, reset-connection-interval,
 * compression-type (none | deflate) and compression-level (Flume's default 6). Both ends of a deflate
 * connection must be configured alike: there is no negotiation on the wire. */
#include "rpc_protocols.h"
#include "sink_rpc.h"

typedef struct
{
  RelayRpcSink super;
  int compression_type;
  gint64 compression_level;
  gint64 max_io_workers;
} RelayAvroSink;

static const char *const _compressions[] = { "none", "deflate", NULL };

static const RelayOption _options[] = {
  RELAY_RPC_SINK_OPTIONS(RelayAvroSink),
  RELAY_OPT_ENUM_ROW("compression-type", "none", _compressions, RelayAvroSink, compression_type, 0,
                     "none or deflate (must match the source)"),
  RELAY_OPT_INT_ROW("compression-level", "6", 1, 9, RelayAvroSink, compression_level, 0, "zlib level 1..9"),
  RELAY_TLS_DEFLATE_ORDER_ROW(RelayAvroSink, super.tls),
  RELAY_OPT_INT_ROW("maxIoWorkers", "0", 0, G_MAXINT32, RelayAvroSink, max_io_workers, RELAY_OPTF_IGNORED,
                    "accepted for Flume compatibility (ignored since Flume 1.10 too)"),
  RELAY_OPTION_END,
};

static gboolean
_configure(RelayComponent *component, const RelayComponentConfig *cc, RelayConfigReport *report)
{
  RelayAvroSink *self = (RelayAvroSink *)component;

  self->super.protocol = &relay_avro_rpc_protocol;
  self->super.deflate = self->compression_type == 1;
  self->super.compression_level = (int)self->compression_level;
  return relay_rpc_sink_check_common(&self->super, cc, report);
}

static const RelaySinkOps _ops = { relay_rpc_sink_process };

const RelayComponentClass relay_sink_avro_class = {
  .kind = RELAY_KIND_SINK,
  .type = "avro",
  .flume_class = "org.apache.flume.sink.AvroSink",
  .description = "forwards batches to an Avro RPC source (Flume AvroSource or relayd)",
  .options = _options,
  .instance_size = sizeof(RelayAvroSink),
  .configure = _configure,
  .free = relay_rpc_sink_free,
  .start = relay_rpc_sink_start,
  .stop = relay_rpc_sink_stop,
  .ops = &_ops,
};
