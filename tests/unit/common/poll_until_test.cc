#include "common/poll_until.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <vector>

namespace dbconnd::common {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Time = std::chrono::steady_clock::time_point;

// A clock that moves only when the poll sleeps, and a script of answers.
struct Fake {
  Time now{};
  std::vector<milliseconds> sleeps;
  std::vector<StatusOr<bool>> answers;  // attempt n gets answers[n]
  int attempts = 0;
  Status sleep_result = OkStatus();
  bool stop = false;
};

asio::awaitable<Status> FakeSleep(Fake* f, milliseconds d) {
  f->sleeps.push_back(d);
  f->now += d;
  co_return f->sleep_result;
}

asio::awaitable<StatusOr<bool>> FakeAttempt(Fake* f, int n) {
  REQUIRE(n == f->attempts);  // attempts are numbered from 0, one by one
  ++f->attempts;
  co_return n < static_cast<int>(f->answers.size()) ? f->answers[n] : StatusOr<bool>(false);
}

PollOptions Options(Fake* f) {
  PollOptions o;
  o.initial_delay = milliseconds(100);
  o.max_delay = milliseconds(300);
  o.multiplier = 2.0;
  o.jitter = 0.0;
  o.deadline = f->now + std::chrono::hours(1);
  o.clock = [f] { return f->now; };
  o.sleeper = [f](milliseconds d) { return FakeSleep(f, d); };
  o.rng = [] { return 0.5; };
  o.stop = [f] { return f->stop; };
  return o;
}

asio::awaitable<void> Run(Fake* f, PollOptions o, std::optional<Status>* out) {
  PollAttempt attempt = [f](int n) { return FakeAttempt(f, n); };
  *out = co_await PollUntil(std::move(attempt), std::move(o));
}

Status Poll(Fake& f, PollOptions o) {
  asio::io_context io;
  std::optional<Status> out;
  asio::co_spawn(io, Run(&f, std::move(o), &out), asio::detached);
  io.run();
  REQUIRE(out.has_value());
  return *out;
}

TEST_CASE("PollUntil: asks again with exponential delays until done", "[poll_until]") {
  Fake f;
  f.answers = {false, false, false, false, true};
  Status s = Poll(f, Options(&f));
  CHECK(s.ok());
  CHECK(f.attempts == 5);
  // Doubling, capped at max_delay.
  CHECK(f.sleeps == std::vector<milliseconds>{milliseconds(100), milliseconds(200),
                                              milliseconds(300), milliseconds(300)});
}

TEST_CASE("PollUntil: done at once sleeps not at all", "[poll_until]") {
  Fake f;
  f.answers = {true};
  CHECK(Poll(f, Options(&f)).ok());
  CHECK(f.sleeps.empty());
}

TEST_CASE("PollUntil: jitter stretches each delay by the drawn factor", "[poll_until]") {
  Fake f;
  f.answers = {false, false, false, true};
  PollOptions o = Options(&f);
  o.jitter = 0.5;  // rng 0.5: factor 1.25
  CHECK(Poll(f, std::move(o)).ok());
  CHECK(f.sleeps == std::vector<milliseconds>{milliseconds(125), milliseconds(250),
                                              milliseconds(375)});
}

TEST_CASE("PollUntil: the deadline cuts the last sleep short and ends the wait", "[poll_until]") {
  Fake f;
  PollOptions o = Options(&f);
  o.initial_delay = milliseconds(400);
  o.max_delay = milliseconds(10'000);
  o.deadline = f.now + milliseconds(1'000);
  Status s = Poll(f, std::move(o));
  CHECK(s.code() == StatusCode::kDeadlineExceeded);
  // One attempt right at the deadline, none after it.
  CHECK(f.sleeps == std::vector<milliseconds>{milliseconds(400), milliseconds(600)});
  CHECK(f.attempts == 3);
  CHECK(s.message().find("3 attempts") != std::string::npos);
}

TEST_CASE("PollUntil: max_attempts bounds the attempts", "[poll_until]") {
  Fake f;
  PollOptions o = Options(&f);
  o.max_attempts = 2;
  Status s = Poll(f, std::move(o));
  CHECK(s.code() == StatusCode::kDeadlineExceeded);
  CHECK(f.attempts == 2);
  CHECK(f.sleeps.size() == 1);
}

TEST_CASE("PollUntil: an attempt's error ends the wait as it is", "[poll_until]") {
  Fake f;
  f.answers = {false, PermissionDeniedError("no access")};
  Status s = Poll(f, Options(&f));
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK(s.message() == "no access");
  CHECK(f.attempts == 2);
}

TEST_CASE("PollUntil: stop and a failed sleep end the wait as cancelled", "[poll_until]") {
  SECTION("stop") {
    Fake f;
    f.stop = true;
    Status s = Poll(f, Options(&f));
    CHECK(s.code() == StatusCode::kCancelled);
    CHECK(f.attempts == 1);
    CHECK(f.sleeps.empty());
  }
  SECTION("sleep") {
    Fake f;
    f.sleep_result = CancelledError("shutting down");
    Status s = Poll(f, Options(&f));
    CHECK(s.code() == StatusCode::kCancelled);
    CHECK(s.message() == "shutting down");
    CHECK(f.attempts == 1);
  }
}

}  // namespace
}  // namespace dbconnd::common
