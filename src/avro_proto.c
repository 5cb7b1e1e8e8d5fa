/* avro_proto.c - placeholder, being written. */
#include "relay.h"
