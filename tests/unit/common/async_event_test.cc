#include "common/async_event.h"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <vector>

namespace dbconnd::common {
namespace {

namespace asio = boost::asio;
using Result = AsyncEvent::WaitResult;
using Clock = std::chrono::steady_clock;

// Coroutines capture nothing: state goes in by pointer.
asio::awaitable<void> WaitAndRecord(AsyncEvent* event, Clock::time_point deadline, int id,
                                    std::vector<int>* order, std::vector<Result>* results) {
  Result r = co_await event->Wait(deadline);
  order->push_back(id);
  results->push_back(r);
}

const auto kFar = std::chrono::hours(1);

TEST_CASE("async event: NotifyOne wakes waiters first come, first served", "[async_event]") {
  asio::io_context io;
  AsyncEvent event;
  std::vector<int> order;
  std::vector<Result> results;
  for (int id = 0; id < 3; ++id) {
    asio::co_spawn(io, WaitAndRecord(&event, Clock::now() + kFar, id, &order, &results),
                   asio::detached);
  }
  io.poll();
  REQUIRE(event.waiters() == 3);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(event.NotifyOne());
    io.poll();
    REQUIRE(order.size() == static_cast<size_t>(i + 1));
  }
  CHECK(order == std::vector<int>{0, 1, 2});
  CHECK(results == std::vector<Result>(3, Result::kNotified));
  CHECK_FALSE(event.NotifyOne());  // nobody left: nothing is stored
  CHECK(event.waiters() == 0);
}

TEST_CASE("async event: NotifyAll wakes everyone queued", "[async_event]") {
  asio::io_context io;
  AsyncEvent event;
  std::vector<int> order;
  std::vector<Result> results;
  for (int id = 0; id < 4; ++id) {
    asio::co_spawn(io, WaitAndRecord(&event, Clock::now() + kFar, id, &order, &results),
                   asio::detached);
  }
  io.poll();
  CHECK(event.NotifyAll() == 4);
  io.poll();
  CHECK(results == std::vector<Result>(4, Result::kNotified));
  CHECK(event.NotifyAll() == 0);
}

TEST_CASE("async event: a deadline ends the wait as a timeout, and the waiter leaves the queue",
          "[async_event]") {
  asio::io_context io;
  AsyncEvent event;
  std::vector<int> order;
  std::vector<Result> results;
  asio::co_spawn(io,
                 WaitAndRecord(&event, Clock::now() + std::chrono::milliseconds(5), 0, &order,
                               &results),
                 asio::detached);
  asio::co_spawn(io, WaitAndRecord(&event, Clock::now() + kFar, 1, &order, &results),
                 asio::detached);
  // Runs until the first waiter times out (the hang guard is the 1 h one).
  io.run_one_for(std::chrono::seconds(30));
  while (results.empty() && io.run_one_for(std::chrono::seconds(30)) > 0) {
  }
  REQUIRE(results == std::vector<Result>{Result::kTimedOut});
  CHECK(event.waiters() == 1);
  // The notification goes to the waiter still there, not to the timed-out one.
  CHECK(event.NotifyOne());
  io.poll();
  CHECK(order == std::vector<int>{0, 1});
  CHECK(results.back() == Result::kNotified);
}

TEST_CASE("async event: a past deadline times out at once", "[async_event]") {
  asio::io_context io;
  AsyncEvent event;
  std::vector<int> order;
  std::vector<Result> results;
  asio::co_spawn(io, WaitAndRecord(&event, Clock::now() - std::chrono::seconds(1), 0, &order,
                                   &results),
                 asio::detached);
  io.run_for(std::chrono::seconds(30));
  CHECK(results == std::vector<Result>{Result::kTimedOut});
  CHECK(event.waiters() == 0);
}

TEST_CASE("async event: cancelling the waiting coroutine is told apart from a notification",
          "[async_event]") {
  asio::io_context io;
  AsyncEvent event;
  std::vector<int> order;
  std::vector<Result> results;
  asio::cancellation_signal cancel;
  asio::co_spawn(io, WaitAndRecord(&event, Clock::now() + kFar, 0, &order, &results),
                 asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  io.poll();
  REQUIRE(event.waiters() == 1);
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  CHECK(results == std::vector<Result>{Result::kCancelled});
  CHECK(event.waiters() == 0);
  CHECK_FALSE(event.NotifyOne());
}

TEST_CASE("async event: a hand-off made before a late cancel is kept", "[async_event]") {
  asio::io_context io;
  AsyncEvent event;
  std::vector<int> order;
  std::vector<Result> results;
  asio::cancellation_signal cancel;
  asio::co_spawn(io, WaitAndRecord(&event, Clock::now() + kFar, 0, &order, &results),
                 asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  io.poll();
  REQUIRE(event.NotifyOne());
  cancel.emit(asio::cancellation_type::terminal);  // before the waiter resumed
  io.poll();
  CHECK(results == std::vector<Result>{Result::kNotified});
}

TEST_CASE("async event: destroying the event cancels its waiters", "[async_event]") {
  asio::io_context io;
  std::vector<int> order;
  std::vector<Result> results;
  {
    AsyncEvent event;
    asio::co_spawn(io, WaitAndRecord(&event, Clock::now() + kFar, 0, &order, &results),
                   asio::detached);
    io.poll();
  }
  io.poll();
  CHECK(results == std::vector<Result>{Result::kCancelled});
}

// An event owned by what waits on it (as the controller owns its wake-up
// event and its dispatch loop holds the controller): it records how many
// waiters it still had when it went.
struct Owner {
  AsyncEvent event;
  std::size_t* waiters_at_end = nullptr;
  ~Owner() { *waiters_at_end = event.waiters(); }
};

asio::awaitable<void> WaitOwned(std::shared_ptr<Owner> owner) {
  co_await owner->event.Wait(Clock::now() + kFar);
}

TEST_CASE("async event: a waiter torn down with its io_context leaves the queue before the event goes",
          "[async_event]") {
  std::size_t at_end = 99;
  {
    asio::io_context io;
    auto owner = std::make_shared<Owner>();
    owner->waiters_at_end = &at_end;
    asio::co_spawn(io, WaitOwned(owner), asio::detached);
    io.poll();
    REQUIRE(owner->event.waiters() == 1);
    owner.reset();  // only the suspended coroutine holds it now
  }  // the io_context goes with the coroutine still suspended
  // Nothing was sent into a channel whose io_context was shutting down.
  CHECK(at_end == 0);
}

}  // namespace
}  // namespace dbconnd::common
