# flume.thrift - Flume's Thrift RPC interface, as relayd speaks it (wire-compatible with Apache Flume).
#
# Written for relayd after Flume's flume-ng-sdk/src/main/thrift/flume.thrift: the names, field ids and enum values below
# are what Flume's ThriftSource and ThriftRpcClient put on the wire, so clients generated from this file in
# any language talk to Flume and to relayd alike. The build generates relayd's c_glib code from it
# (src/gen-thrift/); relayd's own codec (src/rpc/thrift_proto.c) is checked against that code in the unit tests.

namespace java org.apache.flume.thrift

# One event: string headers and an opaque body.
struct ThriftFlumeEvent {
  1: required map<string, string> headers,
  2: required binary body,
}

# What a source answers: OK once the events are committed, FAILED when a channel refused them.
enum Status {
  OK,
  FAILED,
  ERROR,
  UNKNOWN,
}

service ThriftSourceProtocol {
  Status append(1: ThriftFlumeEvent event),
  Status appendBatch(1: list<ThriftFlumeEvent> events),
}
