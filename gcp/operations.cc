#include "gcp/operations.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "common/poll_until.h"

namespace dbconnd::gcp {
namespace {

Task<StatusOr<Operation>> Poll(Clients clients, Operation op) {
  switch (op.api) {
    case Api::kSqlAdmin:
      co_return co_await clients.sql->GetOperation(op.project, op.name);
    case Api::kRun:
      co_return co_await clients.run->GetOperation(op.name);
    case Api::kVpcAccess:
      co_return co_await clients.vpc->GetOperation(op.name);
    case Api::kServiceNetworking:
      co_return co_await clients.networking->GetOperation(op.name);
    case Api::kCompute:
      if (op.name.starts_with("regions/")) {
        // "regions/R/operations/NAME" (a regional insert, see Compute).
        const auto slash = op.name.find('/', 8);
        const auto last = op.name.rfind('/');
        if (slash != std::string::npos && last > slash) {
          std::string region = op.name.substr(8, slash - 8);
          std::string name = op.name.substr(last + 1);
          co_return co_await clients.compute->GetRegionOperation(op.project, std::move(region),
                                                                 std::move(name));
        }
      }
      co_return co_await clients.compute->GetGlobalOperation(op.project, op.name);
    case Api::kSecretManager:
    case Api::kResourceManager:
      break;  // read-only here: no operations
  }
  co_return InternalError("unknown API");
}

bool HasClient(const Clients& c, Api api) {
  switch (api) {
    case Api::kSqlAdmin: return c.sql != nullptr;
    case Api::kRun: return c.run != nullptr;
    case Api::kVpcAccess: return c.vpc != nullptr;
    case Api::kServiceNetworking: return c.networking != nullptr;
    case Api::kCompute: return c.compute != nullptr;
    case Api::kSecretManager: return c.secrets != nullptr;
    case Api::kResourceManager: return c.resource_manager != nullptr;
  }
  return false;
}

std::string Seconds(std::chrono::milliseconds ms) {
  return std::to_string(ms.count() / 1000) + "." + std::to_string((ms.count() % 1000) / 100) + "s";
}

}  // namespace

std::string DescribeOperation(const Operation& op) {
  std::string out = std::string(ToString(op.api)) + " operation " + op.name;
  if (!op.type.empty()) out += " (" + op.type + ")";
  if (!op.target.empty()) out += " on " + op.target;
  return out;
}

namespace {

std::atomic<std::uint64_t> next_wait_id{1};

// Pairs OperationWaitStarted with OperationWaitFinished on every path out of
// the wait, including an exception or the coroutine being destroyed.
class WaitReporter {
 public:
  WaitReporter(std::shared_ptr<Telemetry> telemetry, const Operation& op, Clock clock)
      : telemetry_(std::move(telemetry)), clock_(std::move(clock)) {
    report_.api = op.api;
    started_by_ = op.started_by;
    report_.started_by = started_by_;
    start_ = clock_();
    if (telemetry_) {
      id_ = next_wait_id.fetch_add(1, std::memory_order_relaxed);
      telemetry_->OperationWaitStarted(id_, report_.api, started_by_);
    }
  }
  WaitReporter(const WaitReporter&) = delete;
  WaitReporter& operator=(const WaitReporter&) = delete;
  ~WaitReporter() {
    if (!telemetry_) return;
    report_.elapsed = clock_() - start_;
    telemetry_->OperationWaitFinished(id_, report_);
  }
  void Poll() { ++report_.polls; }
  int polls() const { return report_.polls; }
  void Result(StatusCode code) { report_.wait_result = code; }

 private:
  std::shared_ptr<Telemetry> telemetry_;
  Clock clock_;
  std::string started_by_;
  OperationWaitReport report_;
  SteadyTime start_;
  std::uint64_t id_ = 0;
};

// What one wait keeps between polls; lives in WaitLoop's frame.
struct OperationWait {
  Clients clients;
  Operation op;
  // Keep what the mutation told us; polls of some APIs omit target/type.
  std::string target;
  std::string type;
  std::string started_by;
  const WaitOptions* options = nullptr;
  WaitReporter* reporter = nullptr;
  SteadyTime start;
  bool poll_failed = false;
};

// Attempt 0 only looks (an operation may come back done); later ones poll.
Task<StatusOr<bool>> PollOnce(OperationWait* w, int attempt) {
  if (attempt == 0) co_return w->op.done;
  auto polled = co_await Poll(w->clients, w->op);
  w->reporter->Poll();
  if (!polled.ok()) {
    w->poll_failed = true;
    co_return Status(polled.status()).Annotate("waiting for " + DescribeOperation(w->op));
  }
  Operation next = *std::move(polled);
  if (next.name.empty()) next.name = w->op.name;
  if (next.project.empty()) next.project = w->op.project;
  if (next.target.empty()) next.target = w->target;
  if (next.type.empty()) next.type = w->type;
  if (next.started_by.empty()) next.started_by = w->started_by;
  next.api = w->op.api;
  w->op = std::move(next);
  if (!w->op.done && w->options->progress) {
    WaitProgress p;
    p.api = w->op.api;
    p.operation = w->op.name;
    p.target = w->op.target;
    p.waiting_for = DescribeOperation(w->op);
    p.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(w->options->clock() - w->start);
    p.polls = w->reporter->polls();
    w->options->progress(p);
  }
  co_return w->op.done;
}

Task<StatusOr<Operation>> WaitLoop(Clients clients, Operation op, WaitOptions options,
                                   WaitReporter* reporter) {
  OperationWait w;
  w.clients = std::move(clients);
  w.target = op.target;
  w.type = op.type;
  w.started_by = op.started_by;
  w.op = std::move(op);
  w.options = &options;
  w.reporter = reporter;
  w.start = options.clock();
  common::PollOptions poll;
  poll.initial_delay = options.initial_poll;
  poll.max_delay = options.max_poll;
  poll.multiplier = options.multiplier;
  poll.jitter = options.jitter;
  poll.deadline = w.start + options.timeout;
  if (options.stop) poll.stop = [stop = options.stop] { return stop->load(); };
  poll.clock = options.clock;
  poll.sleeper = options.sleeper;
  poll.rng = options.rng;
  common::PollAttempt attempt = [&w](int n) { return PollOnce(&w, n); };
  Status waited = co_await common::PollUntil(std::move(attempt), std::move(poll));
  if (waited.ok()) co_return std::move(w.op);
  if (w.poll_failed) co_return waited;
  if (waited.code() == StatusCode::kDeadlineExceeded) {
    co_return DeadlineExceededError(
        "gave up waiting for " + DescribeOperation(w.op) + " after " +
        Seconds(std::chrono::duration_cast<std::chrono::milliseconds>(options.clock() - w.start)));
  }
  co_return CancelledError("stopped waiting for " + DescribeOperation(w.op));
}

}  // namespace

Task<StatusOr<Operation>> WaitForOperation(Clients clients, Operation op, WaitOptions options) {
  if (!options.clock) options.clock = SteadyClock();
  if (!options.sleeper) options.sleeper = AsioSleeper();
  if (!options.rng) options.rng = DefaultRng();
  if (!HasClient(clients, op.api)) {
    co_return InvalidArgumentError("no client for " + DescribeOperation(op));
  }
  if (op.name.empty() && !op.done) {
    co_return InvalidArgumentError("operation without a name cannot be polled");
  }
  WaitReporter reporter(options.telemetry, op, options.clock);
  auto result = co_await WaitLoop(std::move(clients), std::move(op), std::move(options), &reporter);
  reporter.Result(result.ok() ? StatusCode::kOk : result.status().code());
  co_return result;
}

}  // namespace dbconnd::gcp
