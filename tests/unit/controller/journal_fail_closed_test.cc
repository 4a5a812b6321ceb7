// Fail closed: a write whose journal record cannot be written is not sent;
// it is logged and counted, and writing resumes once the journal works.
// The state dir is made unwritable the way a full disk does it (the tests
// may run as root, whom permission bits do not stop): RLIMIT_FSIZE at the
// journal's current size makes every write that grows it fail with EFBIG.

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <filesystem>
#include <memory>

#include "../reconcilers/fakes.h"
#include "controller/controller.h"
#include "controller/journal.h"
#include "controller/metrics.h"
#include "gcp/write_fence.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

using namespace std::chrono_literals;
using reconcilers::testing::FakeCloud;
using reconcilers::testing::SeedIntent;
using reconcilers::testing::SeedLive;

// No file of this process may grow past `bytes` while it lives.
class DiskFull {
 public:
  explicit DiskFull(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
    rlimit full = old_;
    full.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &full) == 0);
  }
  ~DiskFull() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

TEST_CASE("a write the journal cannot record is never sent, and is counted",
          "[controller][journal]") {
  boost::asio::io_context io;
  FakeCloud cloud{SeedLive()};
  Metrics metrics;
  testutil::TempDir dir;
  auto journal = std::move(*Journal::Open(dir.path()));
  auto fence = std::make_shared<gcp::WriteFence>();
  cloud.write_fence = fence;
  ControllerOptions options;
  options.write_fence = fence;
  options.apply.max_idle_polls = 0;
  options.apply.wait.initial_poll = 1ms;
  options.settle_recheck = 10ms;
  auto controller =
      Controller::Create(io.get_executor(), cloud.clients(), options, &metrics, journal.get());
  auto failures = [&] {
    return testutil::SumSeries(metrics.Serialize(), "dbconnd_journal_write_failures_total");
  };
  {
    DiskFull full(std::filesystem::file_size(journal->path()));
    controller->SetDesiredState(config::DesiredState::Of({SeedIntent()}), 1);
    controller->Start();
    REQUIRE(testutil::RunUntil(io, [&] { return failures() >= 1; }));
    // Give the refused pass time to finish: still nothing may be sent.
    testutil::RunUntil(io, [] { return false; }, 200ms);
    CHECK(cloud.writes.empty());
    CHECK(journal->entries().empty());
    CHECK(fence->refused() >= 1);
    bool reported = false;
    for (const auto& s : controller->Statuses()) {
      reported = reported || s.last_error.find("journal") != std::string::npos;
    }
    CHECK(reported);
  }
  // The disk has room again: the next pass writes, every write journaled.
  REQUIRE(testutil::RunUntil(io, [&] { return !cloud.writes.empty(); }, 10s));
  REQUIRE(testutil::RunUntil(io, [&] { return journal->Unfinished().empty(); }));
  CHECK(journal->entries().size() >= cloud.writes.size());
  boost::asio::co_spawn(io, controller->Shutdown(1s), boost::asio::detached);
  io.restart();
  io.run_for(50ms);
}

}  // namespace
}  // namespace dbconnd::controller
