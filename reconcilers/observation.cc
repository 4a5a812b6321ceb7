#include "reconcilers/observation.h"

#include <utility>

#include "gcp/resource_names.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/enforcement.h"
#include "reconcilers/planner.h"
#include "reconcilers/prerequisites.h"

namespace dbconnd::reconcilers {
namespace {

std::shared_ptr<const WorkloadIndex> EmptyWorkloads() {
  static const std::shared_ptr<const WorkloadIndex> empty =
      std::make_shared<const WorkloadIndex>();
  return empty;
}

// NOT_FOUND of a single-resource GET is "absent".
template <typename T>
StatusOr<std::optional<T>> Absent(StatusOr<T> got) {
  if (got.ok()) return std::optional<T>(std::move(*got));
  if (got.status().code() == StatusCode::kNotFound) return std::optional<T>();
  return got.status();
}

}  // namespace

bool NeedsRegionWorkloads(const config::Intent& intent, const LiveState& live) {
  const bool may_close_public_ip = live.instance && live.instance->ipv4_enabled &&
                                   intent.instance.public_ip && !intent.instance.public_ip->enabled;
  return may_close_public_ip || EnforcementPending(intent, live);
}

gcp::Task<StatusOr<LiveState>> Observe(ObservationSource* source, config::Intent intent) {
  // Every argument below is a named value (GCC 12 destroys some temporaries
  // built inside a co_await expression twice).
  const std::string project = intent.project;
  const std::string region = intent.region;
  LiveState live;
  live.observed_at = std::chrono::system_clock::now();

  const std::string instance_name = intent.instance.name;
  auto instance = co_await source->Instance(project, instance_name);
  if (!instance.ok()) co_return instance.status();
  live.instance = std::move(*instance);

  if (intent.connector) {
    const std::string connector_name = intent.connector->name;
    auto connector = co_await source->Connector(project, region, connector_name);
    if (!connector.ok()) co_return connector.status();
    live.connector = std::move(*connector);
    // Where a replace put the workloads (connector_options.h).
    const std::string replacement = ReplacementConnectorName(*intent.connector);
    auto replaced = co_await source->Connector(project, region, replacement);
    if (!replaced.ok()) co_return replaced.status();
    live.replacement_connector = std::move(*replaced);
  }

  // `jobs`/`services`: the declared workloads, nothing else.
  for (const auto& w : intent.workloads) {
    const gcp::RunKind kind =
        w.kind == config::WorkloadKind::kJob ? gcp::RunKind::kJob : gcp::RunKind::kService;
    const std::string name = w.name;
    auto found = co_await source->Workload(kind, project, region, name);
    if (!found.ok()) co_return found.status();
    if (*found) {
      (kind == gcp::RunKind::kJob ? live.jobs : live.services).emplace(name, std::move(**found));
    }
  }

  // The region's others matter only to the check that refuses to switch the
  // public IP off while an undeclared workload still uses it.
  live.all_jobs = EmptyWorkloads();
  live.all_services = EmptyWorkloads();
  if (NeedsRegionWorkloads(intent, live)) {
    const gcp::RunKind job = gcp::RunKind::kJob;
    auto jobs = co_await source->Workloads(job, project, region);
    if (!jobs.ok()) co_return jobs.status();
    live.all_jobs = *jobs;
    const gcp::RunKind service = gcp::RunKind::kService;
    auto services = co_await source->Workloads(service, project, region);
    if (!services.ok()) co_return services.status();
    live.all_services = *services;
  }

  if (intent.instance.private_ip && !intent.project_number.empty()) {
    const auto& pip = *intent.instance.private_ip;
    const std::string network = gcp::NetworkName(intent.project_number, pip.network);
    const std::string range_name = ServicesRangeName(pip);
    auto peerings = co_await source->Peerings(network);
    if (!peerings.ok()) co_return peerings.status();
    live.peerings = std::move(*peerings);
    auto range = co_await source->Range(project, range_name);
    if (!range.ok()) co_return range.status();
    live.services_range = std::move(*range);
  }

  // Subnetworks (Direct VPC egress, PSC endpoints), each answer kept for
  // the planner.
  for (const std::string& ref : SubnetworkRefs(intent)) {
    const SubnetworkLocation loc = LocateSubnetwork(intent, ref);
    auto got = co_await source->Subnetwork(loc.project, loc.region, loc.name);
    if (!got.ok() && got.status().code() == StatusCode::kUnimplemented) continue;
    live.subnetworks.emplace(ref, std::move(got));
  }

  // Private Service Connect endpoints: the address and forwarding rule of
  // each, answers (NOT_FOUND included) kept for the planner (psc.h).
  for (const auto& w : intent.workloads) {
    if (w.method != config::ConnectionMethod::kPsc || !w.psc) continue;
    const std::string address = w.psc->address;
    const std::string endpoint = w.psc->endpoint;
    if (!live.psc_addresses.contains(address)) {
      auto got = co_await source->Address(project, region, address);
      if (!got.ok() && got.status().code() == StatusCode::kUnimplemented) continue;
      live.psc_addresses.emplace(address, std::move(got));
    }
    if (!live.psc_endpoints.contains(endpoint)) {
      auto got = co_await source->ForwardingRule(project, region, endpoint);
      if (!got.ok() && got.status().code() == StatusCode::kUnimplemented) continue;
      live.psc_endpoints.emplace(endpoint, std::move(got));
    }
  }

  // Run-time prerequisites, read-only and best effort (prerequisites.h).
  if (gcp::Clients pc = source->PrerequisiteClients(); pc.secrets && pc.resource_manager) {
    PrerequisiteMemo* memo = source->PrerequisiteAnswers();
    live.prerequisites = co_await GatherPrerequisites(pc, &intent, memo);
  }
  co_return live;
}

gcp::Task<StatusOr<std::optional<gcp::SqlInstance>>> DirectSource::Instance(std::string project,
                                                                             std::string name) {
  Count();
  co_return Absent(co_await clients_.sql->GetInstance(project, name));
}

gcp::Task<StatusOr<std::optional<gcp::Connector>>> DirectSource::Connector(std::string project,
                                                                           std::string region,
                                                                           std::string name) {
  Count();
  co_return Absent(co_await clients_.vpc->GetConnector(project, region, name));
}

gcp::Task<StatusOr<std::optional<gcp::RunWorkload>>> DirectSource::Workload(gcp::RunKind kind,
                                                                            std::string project,
                                                                            std::string region,
                                                                            std::string name) {
  Count();
  // Raw documents kept: a write may follow.
  StatusOr<gcp::RunWorkload> got = InternalError("unset");
  if (kind == gcp::RunKind::kJob) {
    got = co_await clients_.run->GetJob(project, region, name);
  } else {
    got = co_await clients_.run->GetService(project, region, name);
  }
  co_return Absent(std::move(got));
}

gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> DirectSource::Workloads(
    gcp::RunKind kind, std::string project, std::string region) {
  Count();
  // Item by item into the index, raw documents dropped (only the env and
  // the name are read from the region's others).
  auto index = std::make_shared<WorkloadIndex>();
  std::function<void(gcp::RunWorkload)> each = [&](gcp::RunWorkload w) {
    std::string name = w.name;
    w.raw.reset();
    index->emplace(std::move(name), std::move(w));
  };
  Status listed = co_await clients_.run->ForEachWorkload(kind, project, region,
                                                         gcp::RawDocuments::kDrop, std::move(each));
  if (!listed.ok()) co_return listed;
  co_return std::shared_ptr<const WorkloadIndex>(std::move(index));
}

gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> DirectSource::Peerings(
    std::string network) {
  Count();
  auto list = co_await clients_.networking->ListConnections(network);
  if (!list.ok()) co_return list.status();
  co_return std::make_shared<const PeeringList>(std::move(*list));
}

gcp::Task<StatusOr<std::optional<gcp::GlobalAddress>>> DirectSource::Range(std::string project,
                                                                           std::string name) {
  Count();
  co_return Absent(co_await clients_.compute->GetGlobalAddress(project, name));
}

gcp::Task<StatusOr<gcp::Subnetwork>> DirectSource::Subnetwork(std::string project,
                                                              std::string region,
                                                              std::string name) {
  if (!clients_.compute) co_return UnimplementedError("no Compute client");
  co_return co_await clients_.compute->GetSubnetwork(project, region, name);
}

gcp::Task<StatusOr<gcp::RegionAddress>> DirectSource::Address(std::string project,
                                                              std::string region,
                                                              std::string name) {
  if (!clients_.compute) co_return UnimplementedError("no Compute client");
  Count();
  co_return co_await clients_.compute->GetAddress(project, region, name);
}

gcp::Task<StatusOr<gcp::ForwardingRule>> DirectSource::ForwardingRule(std::string project,
                                                                      std::string region,
                                                                      std::string name) {
  if (!clients_.compute) co_return UnimplementedError("no Compute client");
  Count();
  co_return co_await clients_.compute->GetForwardingRule(project, region, name);
}

gcp::Task<StatusOr<LiveState>> Observe(gcp::Clients clients, config::Intent intent) {
  auto source = std::make_shared<DirectSource>(clients);
  co_return co_await Observe(source.get(), std::move(intent));
}

}  // namespace dbconnd::reconcilers
