// One Observe, two sources: on the same emulator state, the direct reads
// (CLI), the shared snapshots (controller, plan) and the fresh reads a write
// is planned on must fill the same LiveState and so yield the same plan.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <algorithm>
#include <set>
#include <sstream>

#include "controller/controller.h"
#include "controller/log.h"
#include "controller/metrics.h"
#include "emulator_fixture.h"
#include "reconcilers/observation.h"
#include "reconcilers/observation_cache.h"
#include "reconcilers/planner.h"
#include "reconcilers/project_number.h"

namespace dbconnd::integration {
namespace {

config::Intent Example(const std::string& file) {
  auto r = config::LoadPaths({kSrc + "/examples/" + file});
  REQUIRE(r.ok());
  return *r.state->intents.at(0);
}

template <typename Index>
std::string Names(const Index* index) {
  if (!index) return "null";
  std::set<std::string> names;
  for (const auto& [name, w] : *index) names.insert(name);
  std::string out;
  for (const auto& n : names) out += n + ",";
  return out;
}

// Every LiveState field the planner reads, as text (raw documents aside:
// snapshots drop them by design).
std::string Describe(const reconcilers::LiveState& live) {
  std::ostringstream o;
  if (live.instance) {
    o << "instance " << live.instance->name << " v" << live.instance->settings_version
      << " ipv4=" << live.instance->ipv4_enabled << " net=" << live.instance->private_network
      << " ips=" << live.instance->ip_addresses.size() << "\n";
  } else {
    o << "no instance\n";
  }
  o << "connector " << (live.connector ? live.connector->name + " " + live.connector->state : "-")
    << "\n";
  for (const auto* m : {&live.jobs, &live.services}) {
    o << (m == &live.jobs ? "jobs " : "services ");
    for (const auto& [name, w] : *m) {
      o << name << " gen=" << w.generation << " env=" << w.containers.size()
        << " vpc=" << (w.vpc_access ? w.vpc_access->connector + "/" +
                                          std::to_string(w.vpc_access->network_interfaces.size())
                                    : "-")
        << ";";
    }
    o << "\n";
  }
  o << "all_jobs " << Names(live.all_jobs.get()) << "\n";
  o << "all_services " << Names(live.all_services.get()) << "\n";
  o << "peerings ";
  for (const auto& p : live.Peerings()) o << p.network << ";";
  o << "\nrange " << (live.services_range ? live.services_range->name : "-") << "\n";
  o << "subnetworks ";
  for (const auto& [ref, s] : live.subnetworks) {
    o << ref << "=" << (s.ok() ? s->name : std::string(StatusCodeName(s.status().code()))) << ";";
  }
  o << "\nprerequisites " << live.prerequisites.has_value() << "\n";
  return o.str();
}

std::string DescribePlan(const reconcilers::Plan& plan) {
  std::ostringstream o;
  for (const auto& s : plan.steps) o << s.id << " blocked=" << s.blocked << "\n";
  for (const auto& d : plan.diagnoses) o << "diagnosis " << d.code << "\n";
  return o.str();
}

gcp::Task<StatusOr<reconcilers::LiveState>> Direct(gcp::Clients clients, config::Intent intent) {
  co_return co_await reconcilers::Observe(clients, std::move(intent));
}
gcp::Task<StatusOr<reconcilers::LiveState>> Cached(
    std::shared_ptr<reconcilers::ObservationCache> cache, config::Intent intent) {
  co_return co_await cache->Observe(std::move(intent));
}
gcp::Task<StatusOr<reconcilers::LiveState>> Fresh(
    std::shared_ptr<reconcilers::ObservationCache> cache, config::Intent intent) {
  co_return co_await cache->ObserveFresh(std::move(intent));
}

config::Intent Resolved(Cloud& cloud, config::Intent intent) {
  auto r = cli::RunToCompletion(cloud.io,
                                   reconcilers::ResolveProjectNumber(cloud.clients(), intent));
  REQUIRE(r.ok());
  return *r;
}

bool HasDiagnosis(const std::vector<reconcilers::Diagnosis>& d, const std::string& code) {
  return std::any_of(d.begin(), d.end(), [&](const auto& x) { return x.code == code; });
}

}  // namespace

TEST_CASE("integration: direct reads and the shared snapshots observe the same state",
          "[integration][observation]") {
  Cloud cloud;
  config::Intent saleor = SaleorIntent();
  config::Intent direct_vpc = Example("saleor-direct-vpc.yaml");
  config::Intent missing_subnet = direct_vpc;
  missing_subnet.workloads[0].direct_vpc->subnetwork = "no-such-subnet";
  config::Intent missing_job = saleor;
  missing_job.workloads[0].name = "no-such-job";
  for (const config::Intent& raw : {saleor, direct_vpc, missing_subnet, missing_job}) {
    const config::Intent intent = Resolved(cloud, raw);
    auto cache = reconcilers::ObservationCache::Create(cloud.clients());
    auto direct = cli::RunToCompletion(cloud.io, Direct(cloud.clients(), intent));
    auto cached = cli::RunToCompletion(cloud.io, Cached(cache, intent));
    auto fresh = cli::RunToCompletion(cloud.io, Fresh(cache, intent));
    REQUIRE(direct.ok());
    REQUIRE(cached.ok());
    REQUIRE(fresh.ok());
    INFO("intent " << intent.name << " subnetwork "
                   << (intent.workloads[0].direct_vpc ? intent.workloads[0].direct_vpc->subnetwork
                                                      : "-"));
    CHECK(Describe(*cached) == Describe(*direct));
    CHECK(Describe(*fresh) == Describe(*direct));
    const auto plan = DescribePlan(reconcilers::ComputePlan(intent, *direct));
    CHECK(DescribePlan(reconcilers::ComputePlan(intent, *cached)) == plan);
    CHECK(DescribePlan(reconcilers::ComputePlan(intent, *fresh)) == plan);
    // The meaning is the same everywhere: only declared workloads in `jobs`.
    CHECK(direct->jobs.size() <= intent.workloads.size());
  }
  CHECK(cloud.Writes().empty());
}

TEST_CASE("integration: the shared snapshot reads Direct VPC subnetworks, keeping found ones",
          "[integration][observation][direct-vpc]") {
  Cloud cloud;
  config::Intent found = Resolved(cloud, Example("saleor-direct-vpc.yaml"));
  config::Intent missing = found;
  missing.workloads[0].direct_vpc->subnetwork = "no-such-subnet";
  auto cache = reconcilers::ObservationCache::Create(cloud.clients());

  auto first = cli::RunToCompletion(cloud.io, Cached(cache, missing));
  REQUIRE(first.ok());
  REQUIRE(first->subnetworks.count("no-such-subnet") == 1);
  CHECK(first->subnetworks.at("no-such-subnet").status().code() == StatusCode::kNotFound);
  CHECK(HasDiagnosis(reconcilers::ComputePlan(missing, *first).diagnoses, "subnetwork-missing"));
  // A missing subnetwork is not kept: its creation shows on the next read.
  REQUIRE(cli::RunToCompletion(cloud.io, Cached(cache, missing)).ok());
  CHECK(cloud.Count("GET compute.subnetworks.get") == 2);

  // A found one is reused while young.
  auto a = cli::RunToCompletion(cloud.io, Cached(cache, found));
  auto b = cli::RunToCompletion(cloud.io, Cached(cache, found));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->subnetworks.at("default").ok());
  CHECK(b->subnetworks.at("default").ok());
  CHECK(cloud.Count("GET compute.subnetworks.get") == 3);
  CHECK(cache->stats().subnetwork_hits == 1);
  CHECK(cloud.Writes().empty());
}

TEST_CASE("integration: /status diagnoses a missing Direct VPC subnetwork without a write",
          "[integration][observation][direct-vpc]") {
  controller::GlobalLogger().SetLevel(controller::LogLevel::kError);
  Cloud cloud;
  config::Intent intent = Example("saleor-direct-vpc.yaml");
  intent.workloads[0].direct_vpc->subnetwork = "no-such-subnet";
  auto state = config::DesiredState::Of({intent});
  controller::Metrics metrics;
  controller::ControllerOptions o;
  o.resync = std::chrono::hours(1);
  o.apply = Cloud::FastOptions();
  o.observe = true;  // report only: the pass plans on the shared snapshot alone
  auto controller = controller::Controller::Create(cloud.io.get_executor(), cloud.clients(), o,
                                               &metrics, nullptr);
  controller->SetDesiredState(state, 1);
  controller->Start();
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!controller->first_full_sync_done() && std::chrono::steady_clock::now() < end) {
    cloud.io.restart();
    cloud.io.run_for(std::chrono::milliseconds(5));
  }
  REQUIRE(controller->first_full_sync_done());
  auto statuses = controller->Statuses();
  REQUIRE(statuses.size() == 1);
  CHECK(HasDiagnosis(statuses[0].diagnoses, "subnetwork-missing"));
  CHECK(cloud.Writes().empty());
  CHECK(cloud.Count("GET compute.subnetworks.get") >= 1);
  boost::asio::co_spawn(cloud.io, controller->Shutdown(std::chrono::seconds(1)),
                        boost::asio::detached);
  cloud.io.restart();
  cloud.io.run_for(std::chrono::milliseconds(50));
}

}  // namespace dbconnd::integration
