// The controller's write fence: leadership is asked again right before each
// write of a pass, and a pass cut short by a lost lease is reported as a
// standby's, not as a failure.

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>

#include "../reconcilers/fakes.h"
#include "controller/controller.h"
#include "controller/journal.h"
#include "controller/metrics.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

using namespace std::chrono_literals;
using reconcilers::testing::FakeCloud;
using reconcilers::testing::SeedIntent;
using reconcilers::testing::SeedLive;

IntentStatus StatusOf(const Controller& c) {
  for (const auto& s : c.Statuses()) return s;
  return {};
}

TEST_CASE("WriteFence refuses under --observe and without leadership, else defers", "[fence]") {
  ControllerOptions o;
  CHECK(WriteFence(o, nullptr)().ok());
  CHECK(WriteFence(o, [] { return UnavailableError("inner"); })().message() == "inner");
  bool leading = false;
  o.can_write = [&leading] { return leading; };
  Status refused = WriteFence(o, nullptr)();
  CHECK(refused.reason() == kWriteRefusedReason);
  CHECK(refused.message().find("not the leader: write refused") == 0);
  leading = true;
  CHECK(WriteFence(o, nullptr)().ok());
  o.observe = true;
  CHECK(WriteFence(o, nullptr)().reason() == kWriteRefusedReason);
}

TEST_CASE("Losing the lease mid-pass stops the pass's writes: it ends as Observing", "[fence]") {
  boost::asio::io_context io;
  FakeCloud cloud(SeedLive());
  Metrics metrics;
  testutil::TempDir dir;
  auto journal = std::move(*Journal::Open(dir.path()));
  // Leading until two writes have landed; the rest of the pass is refused.
  size_t write_budget = 2;
  FakeCloud* c = &cloud;
  ControllerOptions o;
  o.can_write = [c, &write_budget] { return c->writes.size() < write_budget; };
  o.apply.max_idle_polls = 0;
  o.apply.wait.initial_poll = 1ms;
  o.settle_recheck = 10ms;
  o.resync = std::chrono::hours(1);
  auto controller = Controller::Create(io.get_executor(), cloud.clients(), o, &metrics,
                                       journal.get());
  auto state = config::DesiredState::Of({SeedIntent()});
  controller->SetDesiredState(state, 1);
  controller->Start();
  REQUIRE(testutil::RunUntil(io, [&] { return !StatusOf(*controller).last_reconcile.empty(); }));

  CHECK(cloud.writes.size() == 2);
  IntentStatus s = StatusOf(*controller);
  CHECK(s.writes == 2);
  CHECK(s.synced.reason == "Observing");
  CHECK(s.last_error.empty());
  CHECK(journal->Unfinished().empty());  // nothing journaled for the refused write
  CHECK(testutil::SumSeries(metrics.Serialize(), "dbconnd_workqueue_retries_total") == 0);

  // Leading again (on_started_leading enqueues everything): it converges.
  write_budget = 100;
  controller->EnqueueAll();
  REQUIRE(testutil::RunUntil(io, [&] {
    return StatusOf(*controller).synced.reason == "UpToDate";
  }, 5s));
  CHECK(cloud.writes.size() == 6);

  boost::asio::co_spawn(io, controller->Shutdown(1s), boost::asio::detached);
  io.restart();
  io.run_for(50ms);
}

}  // namespace
}  // namespace dbconnd::controller
