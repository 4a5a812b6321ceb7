// The controller keeps a Compute insert's requestId for the logical write,
// across its passes and across a restart on the same --state-dir: Google
// answers a resend with the first request's operation instead of creating
// (or refusing) a second address. The emulator's request log shows the id
// each insert carried.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <stdlib.h>

#include "controller/controller.h"
#include "controller/journal.h"
#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The requestId of every globalAddresses.insert received, in order.
std::vector<std::string> InsertRequestIds(Cloud& cloud) {
  std::vector<std::string> out;
  auto v = cloud.Call("GET", "/emulator/requests");
  for (const auto& r : v.at("recent").as_array()) {
    std::string s(r.as_string());
    if (s.rfind("POST compute.globalAddresses.insert ", 0) != 0) continue;
    auto at = s.find(" requestId=");
    out.push_back(at == std::string::npos ? "" : s.substr(at + 11));
  }
  return out;
}

std::string Describe(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + (s.empty() ? "<none>" : s);
  return out;
}

class StateDir {
 public:
  StateDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "dbconnd-reqid-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~StateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One controller on `dir` until `inserts` inserts have reached the
// emulator, then shut down (its passes end; nothing else is sent).
void RunControllerUntilInserts(Cloud& cloud, const std::string& dir, std::size_t inserts) {
  auto journal = controller::Journal::Open(dir);
  REQUIRE(journal.ok());
  controller::ControllerOptions o;
  o.resync = std::chrono::hours(1);
  o.apply = Cloud::FastOptions();
  o.apply.max_idle_polls = 0;
  // Operations take an hour here: a wait ends the pass (outcome unknown).
  o.apply.wait.timeout = 300ms;
  // The first transient failure ends the pass: the resend comes from the
  // controller's next pass, not from the same Apply.
  o.apply.transient.max_attempts = 1;
  auto controller = controller::Controller::Create(cloud.io.get_executor(), cloud.clients(), o,
                                               nullptr, journal->get());
  controller->SetDesiredState(config::DesiredState::Of({SaleorIntent()}), 1);
  controller->Start();
  bool reached = RunUntil(cloud.io, [&] { return InsertRequestIds(cloud).size() >= inserts; },
                          20s);
  bool stopped = false;
  boost::asio::co_spawn(
      cloud.io,
      [](std::shared_ptr<controller::Controller> c, bool* done) -> boost::asio::awaitable<void> {
        co_await c->Shutdown(std::chrono::seconds(5));
        *done = true;
      }(controller, &stopped),
      boost::asio::detached);
  RunUntil(cloud.io, [&] { return stopped; }, 10s);
  INFO("inserts: " << Describe(InsertRequestIds(cloud)));
  REQUIRE(reached);
  REQUIRE(stopped);
}

}  // namespace

TEST_CASE("integration: the controller resends a lost globalAddresses.insert with the same "
          "requestId, across passes and a restart",
          "[integration][unknown-outcome][request-id]") {
  // Operations stay pending (an hour): the address is not visible yet when
  // the next pass observes, so that pass sends the insert again.
  Cloud cloud(std::chrono::hours(1));
  StateDir dir;
  cloud.Call("POST", "/emulator/faults",
             json::serialize(json::object{{"route", "POST compute.globalAddresses.insert"},
                                          {"status", "apply-drop"},
                                          {"count", 1}}));

  // Pass 1: the insert is applied, its answer lost. Pass 2 sends it again.
  RunControllerUntilInserts(cloud, dir.path(), 2);
  std::vector<std::string> ids = InsertRequestIds(cloud);
  INFO("inserts: " << Describe(ids));
  REQUIRE(ids.size() >= 2);
  CHECK(!ids[0].empty());
  CHECK(ids[1] == ids[0]);

  // A new process on the same state dir: the journal hands the id back.
  RunControllerUntilInserts(cloud, dir.path(), ids.size() + 1);
  ids = InsertRequestIds(cloud);
  INFO("inserts: " << Describe(ids));
  REQUIRE(ids.size() >= 3);
  CHECK(ids.back() == ids[0]);

  // Google created one address: the repeats were answered with the first
  // request's operation.
  cloud.Call("POST", "/emulator/clock/advance", R"({"seconds":7200})");
  auto requests = cloud.Call("GET", "/emulator/requests");
  const auto* n = requests.at("mutations").as_object().if_contains(
      "POST compute.globalAddresses.insert");
  REQUIRE(n);
  CHECK(n->to_number<int64_t>() == 1);
  auto list = cloud.Call("GET", std::string("/compute/v1/projects/") + kProject +
                                    "/global/addresses");
  INFO(json::serialize(list));
  int addresses = 0;
  if (const auto* items = list.as_object().if_contains("items")) {
    addresses = static_cast<int>(items->as_array().size());
  }
  CHECK(addresses == 1);
}

}  // namespace dbconnd::integration
