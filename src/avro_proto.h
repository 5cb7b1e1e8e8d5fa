/* avro_proto.h - placeholder. */
#ifndef RELAY_AVRO_PROTO_H_INCLUDED
#define RELAY_AVRO_PROTO_H_INCLUDED
#include "relay.h"
#endif
