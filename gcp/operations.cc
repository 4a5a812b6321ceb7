#include "gcp/operations.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

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

Task<StatusOr<Operation>> WaitLoop(Clients clients, Operation op, WaitOptions options,
                                   WaitReporter* reporter) {
  const SteadyTime start = options.clock();
  const SteadyTime deadline = start + options.timeout;
  auto delay = options.initial_poll;
  // Keep what the mutation told us; polls of some APIs omit target/type.
  const std::string target = op.target;
  const std::string type = op.type;
  const std::string started_by = op.started_by;
  while (!op.done) {
    if (options.stop && options.stop->load()) {
      co_return CancelledError("stopped waiting for " + DescribeOperation(op));
    }
    auto now = options.clock();
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
    if (now >= deadline) {
      co_return DeadlineExceededError("gave up waiting for " + DescribeOperation(op) + " after " +
                                      Seconds(elapsed));
    }
    const double stretch = 1.0 + std::clamp(options.jitter, 0.0, 1.0) * options.rng();
    auto jittered = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(delay.count()) * stretch));
    auto sleep =
        std::min(jittered, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    Status slept = co_await options.sleeper(sleep);
    if (!slept.ok()) {
      co_return CancelledError("stopped waiting for " + DescribeOperation(op));
    }
    if (options.stop && options.stop->load()) {
      co_return CancelledError("stopped waiting for " + DescribeOperation(op));
    }
    auto polled = co_await Poll(clients, op);
    reporter->Poll();
    if (!polled.ok()) {
      co_return Status(polled.status()).Annotate("waiting for " + DescribeOperation(op));
    }
    Operation next = *std::move(polled);
    if (next.name.empty()) next.name = op.name;
    if (next.project.empty()) next.project = op.project;
    if (next.target.empty()) next.target = target;
    if (next.type.empty()) next.type = type;
    if (next.started_by.empty()) next.started_by = started_by;
    next.api = op.api;
    op = std::move(next);
    if (!op.done && options.progress) {
      WaitProgress p;
      p.api = op.api;
      p.operation = op.name;
      p.target = op.target;
      p.waiting_for = DescribeOperation(op);
      p.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(options.clock() - start);
      p.polls = reporter->polls();
      options.progress(p);
    }
    delay = std::min(options.max_poll,
                     std::chrono::milliseconds(static_cast<int64_t>(
                         static_cast<double>(delay.count()) * options.multiplier)));
  }
  co_return op;
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
