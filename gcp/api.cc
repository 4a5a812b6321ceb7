#include "gcp/api.h"

namespace dbconnd::gcp {

Task<Status> SqlAdmin::ForEachInstance(std::string project,
                                       std::function<void(SqlInstance)> each) {
  auto list = co_await ListInstances(std::move(project));
  if (!list.ok()) co_return list.status();
  for (auto& item : *list) each(std::move(item));
  co_return Status();
}

Task<Status> CloudRun::ForEachWorkload(RunKind kind, std::string project, std::string region,
                                       RawDocuments raw, std::function<void(RunWorkload)> each) {
  StatusOr<std::vector<RunWorkload>> list = InternalError("unset");
  if (kind == RunKind::kJob) {
    list = co_await ListJobs(project, region, raw);
  } else {
    list = co_await ListServices(project, region, raw);
  }
  if (!list.ok()) co_return list.status();
  for (auto& item : *list) each(std::move(item));
  co_return Status();
}

Task<StatusOr<Operation>> VpcAccess::PatchConnector(ConnectorPatch patch) {
  co_return UnimplementedError("this Serverless VPC Access client does not patch connector " +
                               patch.connector.name);
}

Task<StatusOr<Subnetwork>> Compute::GetSubnetwork(std::string, std::string, std::string) {
  co_return UnimplementedError("this Compute client does not read subnetworks");
}

Task<StatusOr<RegionAddress>> Compute::GetAddress(std::string, std::string, std::string) {
  co_return UnimplementedError("this Compute client does not read regional addresses");
}

Task<StatusOr<Operation>> Compute::InsertAddress(RegionAddress) {
  co_return UnimplementedError("this Compute client does not create regional addresses");
}

Task<StatusOr<ForwardingRule>> Compute::GetForwardingRule(std::string, std::string, std::string) {
  co_return UnimplementedError("this Compute client does not read forwarding rules");
}

Task<StatusOr<Operation>> Compute::InsertForwardingRule(ForwardingRule) {
  co_return UnimplementedError("this Compute client does not create forwarding rules");
}

Task<StatusOr<Operation>> Compute::GetRegionOperation(std::string, std::string, std::string) {
  co_return UnimplementedError("this Compute client does not read regional operations");
}

Task<StatusOr<ProjectInfo>> ResourceManager::GetProject(std::string) {
  co_return UnimplementedError("this Resource Manager client does not read projects");
}

}  // namespace dbconnd::gcp
