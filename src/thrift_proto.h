/* thrift_proto.h - placeholder. */
#ifndef RELAY_THRIFT_PROTO_H_INCLUDED
#define RELAY_THRIFT_PROTO_H_INCLUDED
#include "relay.h"
#endif
