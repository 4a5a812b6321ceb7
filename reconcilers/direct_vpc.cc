#include "reconcilers/direct_vpc.h"

#include <algorithm>
#include <vector>

#include "config/cidr.h"

namespace dbconnd::reconcilers {

std::string DirectVpcSubnetworkRef(const config::DirectVpc& d) {
  return d.subnetwork.empty() ? d.network : d.subnetwork;
}

std::string ShortResourceName(std::string_view ref) {
  while (!ref.empty() && ref.back() == '/') ref.remove_suffix(1);
  const auto slash = ref.rfind('/');
  return std::string(slash == std::string_view::npos ? ref : ref.substr(slash + 1));
}

SubnetworkLocation LocateSubnetwork(const config::Intent& intent, const std::string& ref) {
  // The loader accepts only "NAME" or "projects/P/regions/R/subnetworks/NAME".
  const auto at = ref.find("projects/");
  if (at == std::string::npos) return {intent.project, intent.region, ref};
  std::vector<std::string> parts;
  size_t pos = at;
  while (pos <= ref.size() && parts.size() < 7) {
    size_t slash = ref.find('/', pos);
    if (slash == std::string::npos) slash = ref.size();
    parts.push_back(ref.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (parts.size() != 6) return {intent.project, intent.region, ShortResourceName(ref)};
  return {parts[1], parts[3], parts[5]};
}

std::vector<std::string> SubnetworkRefs(const config::Intent& intent) {
  std::vector<std::string> refs;
  auto add = [&refs](std::string ref) {
    if (std::find(refs.begin(), refs.end(), ref) == refs.end()) refs.push_back(std::move(ref));
  };
  for (const auto& w : intent.workloads) {
    if (w.direct_vpc && (w.method == config::ConnectionMethod::kPrivateIp ||
                         w.method == config::ConnectionMethod::kPsc)) {
      add(DirectVpcSubnetworkRef(*w.direct_vpc));
    }
    if (w.psc && w.method == config::ConnectionMethod::kPsc) {
      add(w.psc->subnetwork.empty() ? w.psc->network : w.psc->subnetwork);
    }
  }
  return refs;
}

bool EgressReaches(config::VpcEgress egress, std::string_view ip) {
  if (egress == config::VpcEgress::kAllTraffic) return true;
  auto addr = config::ParseIpv4Address(ip);
  if (!addr.ok()) return true;
  for (const char* range : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}) {
    if (config::Contains(*config::ParseIpv4Cidr(range), *addr)) return true;
  }
  return false;
}

namespace {
bool SameInterface(const gcp::NetworkInterface& live, const config::DirectVpc& d) {
  // Cloud Run fills in the side that was left out; compare what was asked.
  if (ShortResourceName(live.network) != d.network && !live.network.empty()) return false;
  if (ShortResourceName(live.subnetwork) != ShortResourceName(DirectVpcSubnetworkRef(d)) &&
      !(live.subnetwork.empty() && d.subnetwork.empty())) {
    return false;
  }
  std::vector<std::string> a = live.tags, b = d.tags;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}
}  // namespace

gcp::RunVpcAccess DesiredDirectVpcAccess(const config::Workload& w,
                                         const std::optional<gcp::RunVpcAccess>& live) {
  gcp::RunVpcAccess want;
  want.egress = std::string(config::ToString(w.egress));
  const config::DirectVpc& d = *w.direct_vpc;
  if (live && live->connector.empty() && live->network_interfaces.size() == 1 &&
      SameInterface(live->network_interfaces[0], d)) {
    want.network_interfaces = live->network_interfaces;
    return want;
  }
  gcp::NetworkInterface ni;
  ni.network = d.network;
  ni.subnetwork = d.subnetwork;
  ni.tags = d.tags;
  want.network_interfaces.push_back(std::move(ni));
  return want;
}

}  // namespace dbconnd::reconcilers
