#include "gcp/types.h"

#include "gcp/resource_names.h"

namespace dbconnd::gcp {

std::string_view ToString(Api api) {
  switch (api) {
    case Api::kSqlAdmin: return "sqladmin";
    case Api::kRun: return "run";
    case Api::kVpcAccess: return "vpcaccess";
    case Api::kServiceNetworking: return "servicenetworking";
    case Api::kCompute: return "compute";
    case Api::kSecretManager: return "secretmanager";
    case Api::kResourceManager: return "cloudresourcemanager";
  }
  return "unknown";
}

Operation StartedBy(Operation op, std::string_view rpc) {
  op.started_by = std::string(rpc);
  return op;
}

std::string SqlInstance::AddressOfType(std::string_view type) const {
  for (const auto& m : ip_addresses) {
    if (m.type == type) return m.ip_address;
  }
  return "";
}

std::string Connector::FullName() const {
  return ConnectorName(project, region, name);
}

std::string RunWorkload::FullName() const {
  return LocationName(project, region) + (kind == RunKind::kJob ? "/jobs/" : "/services/") + name;
}

}  // namespace dbconnd::gcp
