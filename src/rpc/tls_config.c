/* tls_config.c - creating a component's TLS context from its configure(), with a configuration report line
 * naming the file, the key and the problem when it cannot be loaded (kept out of tls.c, which the client
 * library also links). */
#include "tls.h"

RelayTls *
relay_tls_new_for_component(const RelayTlsOptions *options, gboolean server, const char *label,
                            const RelayComponentConfig *cc, RelayConfigReport *report)
{
  const char *key = "ssl";
  GError *error = NULL;
  RelayTls *tls = relay_tls_new(options, server, label, &key, &error);

  if (tls)
    return tls;
  const RelayProp *where = relay_component_config_get(cc, key);
  relay_config_report_add(report, where ? where : relay_component_config_where(cc), cc->label, key,
                          "%s; %s removed", error->message, cc->name);
  g_error_free(error);
  return NULL;
}

gboolean
relay_tls_component_configure(const RelayTlsOptions *options, gboolean server, const char *label,
                              const RelayComponentConfig *cc, RelayConfigReport *report, RelayTls **ctx)
{
  *ctx = options->ssl ? relay_tls_new_for_component(options, server, label, cc, report) : NULL;
  return !options->ssl || *ctx;
}
