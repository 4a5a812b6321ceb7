#include "config/expiry.h"

namespace dbconnd::config {

bool Expired(const AuthorizedNetwork& network, SystemTime now) {
  if (network.expires.empty()) return false;
  auto at = ParseRfc3339(network.expires);
  return at && *at <= now;
}

std::optional<SystemTime> NextExpiry(const Intent& intent, SystemTime now) {
  if (!intent.instance.public_ip) return std::nullopt;
  std::optional<SystemTime> next;
  for (const AuthorizedNetwork& n : intent.instance.public_ip->authorized_networks) {
    if (n.expires.empty()) continue;
    auto at = ParseRfc3339(n.expires);
    if (!at || *at <= now) continue;
    if (!next || *at < *next) next = at;
  }
  return next;
}

std::vector<Diagnostic> ExpiredNetworkWarnings(const DesiredState& state, SystemTime now) {
  std::vector<Diagnostic> out;
  for (const auto& intent : state.intents) {
    if (!intent->instance.public_ip) continue;
    const auto& nets = intent->instance.public_ip->authorized_networks;
    for (size_t i = 0; i < nets.size(); ++i) {
      if (!Expired(nets[i], now)) continue;
      Diagnostic d;
      d.severity = Diagnostic::Severity::kWarning;
      d.where = nets[i].where;
      d.path = "spec.instance.publicIp.authorizedNetworks[" + std::to_string(i) + "].expires";
      d.message = "authorized network " + nets[i].cidr + " (" + nets[i].name + ") expired at " +
                  nets[i].expires + "; dbconnd removes it from the instance " +
                  intent->instance.name + " at its next write. Delete the entry, or set a "
                  "later expires if the range still needs access";
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace dbconnd::config
