/* net.h - placeholder. */
#ifndef RELAY_NET_H_INCLUDED
#define RELAY_NET_H_INCLUDED
#include "relay.h"
#endif
