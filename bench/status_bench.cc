// /status at N intents (default 10,000), every one drifted (the incident,
// observed: plan steps, resource messages and a condition message each, the
// heaviest status an intent has). Prints:
//   one-piece      StatusJson() in one go: how long a single render would
//                  hold the controller's loop
//   sliced         StatusJsonSliced() as /status serves it: total time, and
//                  the longest the loop was held between two turns of a
//                  probe coroutine queued on it (what /healthz and the
//                  passes wait at most) — goal: a few ms
//
//   build/ci/bench/status_bench [--n 10000] [--runs 5] [--budget-us 2000]

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "controller/controller.h"
#include "controller/log.h"
#include "tests/unit/reconcilers/fakes.h"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace dbconnd;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  int n = 10'000;
  int runs = 5;
  long budget_us = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n")) n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--budget-us")) budget_us = std::atol(argv[i + 1]);
  }
  controller::GlobalLogger().SetLevel(controller::LogLevel::kError);
  asio::io_context io;
  reconcilers::testing::FakeCloud cloud{reconcilers::testing::SeedLive()};
  controller::ControllerOptions o;
  o.observe = true;  // every intent reports its drift, nothing is written
  o.resync = std::chrono::hours(1);
  o.concurrency = 64;
  o.apply.max_idle_polls = 0;
  auto controller = controller::Controller::Create(io.get_executor(), cloud.clients(), o, nullptr,
                                               nullptr);
  std::vector<config::Intent> intents;
  intents.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    config::Intent in = reconcilers::testing::SeedIntent();
    in.name = "intent-" + std::to_string(i);
    intents.push_back(std::move(in));
  }
  controller->SetDesiredState(config::DesiredState::Of(intents), 1);
  controller->Start();
  const auto sync_start = Clock::now();
  while (!controller->first_full_sync_done()) {
    if (Clock::now() - sync_start > std::chrono::minutes(5)) {
      std::fprintf(stderr, "first full sync did not finish in 5 min\n");
      return 1;
    }
    io.run_for(std::chrono::milliseconds(10));
  }
  std::printf("intents %d, first sync %.0f ms\n", n, Ms(Clock::now() - sync_start));

  std::vector<double> whole;
  std::size_t bytes = 0;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    std::string doc = controller->StatusJson();
    whole.push_back(Ms(Clock::now() - t0));
    bytes = doc.size();
  }
  std::sort(whole.begin(), whole.end());
  std::printf("one-piece: median %.1f ms, max %.1f ms, %zu bytes\n", whole[whole.size() / 2],
              whole.back(), bytes);

  std::vector<double> totals;
  std::vector<double> holds;
  bool same = true;
  for (int r = 0; r < runs; ++r) {
    bool done = false;
    Clock::duration longest{};
    std::string sliced;
    const auto t0 = Clock::now();
    asio::co_spawn(
        io,
        [](std::shared_ptr<controller::Controller> c, long us, std::string* out,
           bool* finished) -> asio::awaitable<void> {
          *out = co_await c->StatusJsonSliced(std::chrono::microseconds(us));
          *finished = true;
        }(controller, budget_us, &sliced, &done),
        asio::detached);
    // A probe queued behind everything: the gap between its turns is how
    // long anything else on the loop waited.
    asio::co_spawn(
        io,
        [](bool* finished, Clock::duration* worst) -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          auto last = Clock::now();
          while (!*finished) {
            co_await asio::post(ex, asio::use_awaitable);
            auto now = Clock::now();
            *worst = std::max(*worst, now - last);
            last = now;
          }
        }(&done, &longest),
        asio::detached);
    while (!done) io.run_one_for(std::chrono::seconds(1));
    io.poll();
    totals.push_back(Ms(Clock::now() - t0));
    holds.push_back(Ms(longest));
    // The same intents as the one-piece render (the queue's age moves on).
    const std::string whole_doc = controller->StatusJson();
    same = same && sliced.substr(sliced.find("\"intents\":")) ==
                       whole_doc.substr(whole_doc.find("\"intents\":"));
  }
  std::sort(totals.begin(), totals.end());
  std::sort(holds.begin(), holds.end());
  std::printf("sliced (%ld us budget per slice): total median %.1f ms; longest loop hold median %.2f ms, "
              "max %.2f ms; same document: %s\n",
              budget_us, totals[totals.size() / 2], holds[holds.size() / 2], holds.back(),
              same ? "yes" : "NO");
  return same ? 0 : 1;
}
