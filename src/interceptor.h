/* interceptor.h - placeholder. */
#ifndef RELAY_INTERCEPTOR_H_INCLUDED
#define RELAY_INTERCEPTOR_H_INCLUDED
#include "relay.h"
#endif
