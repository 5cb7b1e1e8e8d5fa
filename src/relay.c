/* relay.c - project-wide definitions: the RELAY_ERROR domain shared by the daemon and the client library. */
#include "relay.h"

/* The macro stringifies its first argument: clang-format must not put spaces around the dashes. */
/* clang-format off */
G_DEFINE_QUARK(relay-error-quark, relay_error)
/* clang-format on */
