// Shared observation against the emulator's fleet seed: the controller's
// reads per resync depend on projects/regions, not on how many intents
// live there; lists that span pages are followed to the end.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "controller/controller.h"
#include "controller/log.h"
#include "controller/metrics.h"
#include "emulator_fixture.h"
#include "reconcilers/observation_cache.h"
#include "tests/support/exposition.h"

namespace dbconnd::integration {
namespace {

// The fleet seed's database i (see emulator/seeds.cc): project i%3, region
// (i/3)%2, private IP on "default" through connector conn-<region index>,
// public IP off, ENCRYPTED_ONLY. This intent declares all of it, so a
// converged fleet needs no write.
config::Intent FleetIntent(int i) {
  const char* regions[] = {"us-central1", "europe-west1"};
  const int pi = i % 3, ri = (i / 3) % 2;
  config::Intent in;
  in.name = "fleet-" + std::to_string(i);
  in.project = "fleet-project-" + std::to_string(pi + 1);
  in.project_number = std::to_string(100000000001LL + pi);
  in.region = regions[ri];
  in.instance.name = "db-" + std::to_string(i);
  in.instance.ssl_mode = config::SslMode::kEncryptedOnly;
  in.instance.public_ip = config::PublicIp{false, {}};
  config::PrivateIp pip;
  pip.network = "default";
  in.instance.private_ip = pip;
  config::Connector c;
  c.name = "conn-" + std::to_string(ri);
  c.network = "default";
  c.ip_cidr_range = "10.8." + std::to_string(ri * 16) + ".0/28";
  c.min_instances = 2;
  c.max_instances = 10;
  in.connector = c;
  // Its job, as the seed configured it (the password secret by short name).
  config::Workload w;
  w.kind = config::WorkloadKind::kJob;
  w.name = "job-" + std::to_string(i);
  w.method = config::ConnectionMethod::kPrivateIp;
  w.database = {"app", "app",
                "projects/" + in.project + "/secrets/db-" + std::to_string(i) + "/versions/latest",
                "PGPASSWORD"};
  in.workloads.push_back(w);
  return in;
}

// Indexes of fleet databases in fleet-project-1 / us-central1.
std::vector<int> FirstRegionIndexes(int count) {
  std::vector<int> out;
  for (int i = 0; static_cast<int>(out.size()) < count; ++i) {
    if (i % 3 == 0 && (i / 3) % 2 == 0) out.push_back(i);
  }
  return out;
}

using dbconnd::testing::SumSeries;

template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred pred, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct ResyncCounts {
  std::map<std::string, int64_t> reads;  // "GET route" -> count, one resync
  int64_t writes = 0;
};

// Runs a controller over `k` fleet intents of one project/region until the
// first sync is done, then measures one more (no-change) resync of all.
ResyncCounts MeasureResync(int k) {
  Cloud cloud;
  cloud.Call("POST", "/emulator/reset", R"({"seed":"fleet:200"})");
  std::vector<config::Intent> intents;
  for (int i : FirstRegionIndexes(k)) intents.push_back(FleetIntent(i));
  auto state = config::DesiredState::Of(intents);

  controller::Metrics metrics;
  controller::ControllerOptions o;
  o.resync = std::chrono::hours(1);
  o.apply = Cloud::FastOptions();
  o.apply.max_idle_polls = 0;
  auto controller = controller::Controller::Create(cloud.io.get_executor(), cloud.clients(), o,
                                               &metrics, nullptr);
  controller->SetDesiredState(state, 1);
  controller->Start();
  auto reconciles = [&] {
    return SumSeries(metrics.Serialize(), "dbconnd_reconciles_total{kind=\"instance\"");
  };
  REQUIRE(RunUntil(cloud.io, [&] { return controller->first_full_sync_done(); },
                   std::chrono::seconds(30)));
  cloud.ClearLog();
  const double before = reconciles();
  controller->EnqueueAll();
  REQUIRE(RunUntil(cloud.io, [&] { return reconciles() >= before + k; }, std::chrono::seconds(30)));

  ResyncCounts out;
  auto v = cloud.Call("GET", "/emulator/requests");
  for (const auto& [route, n] : v.at("counts").as_object()) {
    std::string key(route);
    if (key.find("emulator") != std::string::npos || key.find("token") != std::string::npos) {
      continue;
    }
    if (key.ends_with(".getIamPolicy")) {
      out.reads[key] = n.as_int64();  // a read sent as POST (Resource Manager)
    } else if (key.rfind("GET ", 0) == 0) {
      out.reads[key] = n.as_int64();
    } else {
      out.writes += n.as_int64();
    }
  }
  for (const auto& s : controller->Statuses()) {
    INFO(s.name << ": " << s.synced.reason << " " << s.last_error);
    CHECK(s.synced.reason == "UpToDate");
  }
  boost::asio::co_spawn(cloud.io, controller->Shutdown(std::chrono::seconds(1)),
                        boost::asio::detached);
  cloud.io.restart();
  cloud.io.run_for(std::chrono::milliseconds(50));
  return out;
}

std::string Describe(const std::map<std::string, int64_t>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + std::to_string(v) + " ";
  return s;
}

TEST_CASE("A no-change resync makes the same list calls for 3 intents as for 30",
          "[integration][observation]") {
  controller::GlobalLogger().SetLevel(controller::LogLevel::kError);
  ResyncCounts three = MeasureResync(3);
  ResyncCounts thirty = MeasureResync(30);
  INFO("K=3: " << Describe(three.reads));
  INFO("K=30: " << Describe(thirty.reads));
  CHECK(three.writes == 0);
  CHECK(thirty.writes == 0);
  CHECK(three.reads == thirty.reads);
  // One list per kind for the project/region; nothing read per intent.
  CHECK(thirty.reads.at("GET sqladmin.instances.list") == 1);
  CHECK(thirty.reads.at("GET run.jobs.list") == 1);
  CHECK(thirty.reads.count("GET run.services.list") == 0);  // none declared
  CHECK(thirty.reads.at("GET vpcaccess.connectors.list") == 1);
  CHECK(thirty.reads.count("GET sqladmin.instances.get") == 0);
  CHECK(thirty.reads.count("GET run.jobs.get") == 0);
  int64_t total = 0;
  for (const auto& [k, n] : thirty.reads) total += n;
  CHECK(total == 5);  // + the peering list and the range GET
}

gcp::Task<StatusOr<reconcilers::LiveState>> ObserveVia(
    std::shared_ptr<reconcilers::ObservationCache> cache, config::Intent intent) {
  co_return co_await cache->Observe(std::move(intent));
}

TEST_CASE("Snapshots follow list pages to the end", "[integration][observation]") {
  Cloud cloud;
  // fleet-project-1 holds databases 0, 3, ..., 1500: 501 instances, more
  // than the emulator's 500-item pages.
  cloud.Call("POST", "/emulator/reset", R"({"seed":"fleet:1503"})");
  auto cache = reconcilers::ObservationCache::Create(cloud.clients());
  auto last = cli::RunToCompletion(cloud.io, ObserveVia(cache, FleetIntent(1500)));
  REQUIRE(last.ok());
  REQUIRE(last->instance);
  CHECK(last->instance->name == "db-1500");
  auto first = cli::RunToCompletion(cloud.io, ObserveVia(cache, FleetIntent(0)));
  REQUIRE(first.ok());
  REQUIRE(first->instance);
  CHECK(first->instance->name == "db-0");
  CHECK(cloud.Count("GET sqladmin.instances.list") == 2);  // two pages, one snapshot
  CHECK(cache->stats().lists >= 1);
  auto instances = cli::RunToCompletion(cloud.io, cache->Snapshot(reconcilers::InstancesKey{"fleet-project-1"}));
  REQUIRE(instances.ok());
  CHECK((*instances)->size() == 501);
}

}  // namespace
}  // namespace dbconnd::integration
