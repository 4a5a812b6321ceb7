#include "k8s/leader_elector.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

namespace dbconnd::k8s {
namespace asio = boost::asio;
namespace {

using std::chrono::milliseconds;

constexpr double kJitterFactor = 1.2;  // client-go's JitterFactor

int64_t ToNs(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

Status ValidateLeaderElectionConfig(const LeaderElectionConfig& c) {
  if (c.lease_duration <= milliseconds(0) || c.renew_deadline <= milliseconds(0) ||
      c.retry_period <= milliseconds(0)) {
    return InvalidArgumentError("leader election: leaseDuration, renewDeadline and retryPeriod must be positive");
  }
  if (c.lease_duration <= c.renew_deadline) {
    return InvalidArgumentError("leader election: leaseDuration must be greater than renewDeadline");
  }
  if (static_cast<double>(c.renew_deadline.count()) <=
      kJitterFactor * static_cast<double>(c.retry_period.count())) {
    return InvalidArgumentError("leader election: renewDeadline must be greater than retryPeriod*1.2");
  }
  if (c.identity.empty()) {
    return InvalidArgumentError("leader election: identity is empty (set POD_NAME from the downward API)");
  }
  if (c.lease_namespace.empty()) return InvalidArgumentError("leader election: lease namespace is empty");
  if (c.lease_name.empty()) return InvalidArgumentError("leader election: lease name is empty");
  return OkStatus();
}

std::string DefaultIdentity(const GetEnv& getenv_fn) {
  if (getenv_fn) {
    auto pod = getenv_fn("POD_NAME");
    if (pod && !pod->empty()) return *pod;
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) return host;
  return "";
}

StatusOr<std::unique_ptr<LeaderElector>> LeaderElector::Create(std::shared_ptr<LeaseClient> client,
                                                               LeaderElectionConfig config) {
  DBCONND_RETURN_IF_ERROR(ValidateLeaderElectionConfig(config));
  if (!client) return InvalidArgumentError("leader election: no lease client");
  if (!config.steady_now) config.steady_now = [] { return std::chrono::steady_clock::now(); };
  if (!config.wall_now) config.wall_now = [] { return std::chrono::system_clock::now(); };
  if (!config.rng) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    config.rng = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
  return std::unique_ptr<LeaderElector>(new LeaderElector(std::move(client), std::move(config)));
}

LeaderElector::LeaderElector(std::shared_ptr<LeaseClient> client, LeaderElectionConfig config)
    : client_(std::move(client)), config_(std::move(config)) {}

bool LeaderElector::CanWrite(SteadyTime now) const {
  if (!leading_.load()) return false;
  return ToNs(now) < write_deadline_ns_.load();
}

SteadyTime LeaderElector::write_deadline() const {
  if (!leading_.load()) return SteadyTime::min();
  return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(
      std::chrono::nanoseconds(write_deadline_ns_.load())));
}

std::string LeaderElector::leader_identity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_identity_;
}

Status LeaderElector::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void LeaderElector::SetError(Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = std::move(s);
}

// The record's whole seconds are authoritative, as in client-go. A
// sub-second LeaseDuration cannot be written there (the API wants >= 1), so
// then every replica uses its own configured duration; only tests do that.
milliseconds LeaderElector::ObservedDuration() const {
  if (config_.lease_duration < std::chrono::seconds(1) || !observed_) return config_.lease_duration;
  return std::chrono::seconds(observed_->spec.lease_duration_seconds);
}

bool LeaderElector::LeaseValid(SteadyTime now) const {
  return observed_.has_value() && observed_time_ + ObservedDuration() > now;
}

void LeaderElector::SetObserved(const Lease& lease, SteadyTime now) {
  observed_ = lease;
  observed_time_ = now;
}

LeaseSpec LeaderElector::NewRecord() const {
  LeaseSpec spec;
  spec.holder_identity = config_.identity;
  auto secs = std::chrono::ceil<std::chrono::seconds>(config_.lease_duration).count();
  spec.lease_duration_seconds = static_cast<int>(std::max<int64_t>(1, secs));
  WallTime wall = config_.wall_now();
  spec.acquire_time = wall;
  spec.renew_time = wall;
  return spec;
}

net::Deadlines LeaderElector::RequestDeadlines(SteadyTime now) const {
  // A leader's request may not outlive its write deadline; a candidate's is
  // bounded by RenewDeadline like client-go's per-attempt context.
  milliseconds d = config_.renew_deadline;
  if (leading_.load()) {
    auto left = std::chrono::duration_cast<milliseconds>(write_deadline() - now);
    d = std::clamp(left, milliseconds(1), d);
  }
  return net::Deadlines{d, d, d, d, d};
}

void LeaderElector::StartLeading(SteadyTime renewed_at) {
  write_deadline_ns_.store(ToNs(renewed_at + config_.renew_deadline));
  if (leading_.exchange(true)) return;
  if (config_.callbacks.on_started_leading) config_.callbacks.on_started_leading();
}

bool LeaderElector::TookLease(const StatusOr<Lease>& written, SteadyTime sent) {
  if (!written.ok()) {
    SetError(written.status());
    return false;
  }
  SetObserved(*written, config_.steady_now());
  SetError(OkStatus());
  StartLeading(sent);
  ReportTransition();
  return true;
}

void LeaderElector::StopLeading() {
  if (!leading_.exchange(false)) return;
  write_deadline_ns_.store(0);
  if (config_.callbacks.on_stopped_leading) config_.callbacks.on_stopped_leading();
}

void LeaderElector::ReportTransition() {
  std::string holder = observed_ ? observed_->spec.holder_identity : "";
  if (reported_once_ && holder == reported_leader_) return;
  reported_once_ = true;
  reported_leader_ = holder;
  {
    std::lock_guard<std::mutex> lock(mu_);
    leader_identity_ = holder;
  }
  if (config_.callbacks.on_new_leader) config_.callbacks.on_new_leader(holder);
}

asio::awaitable<bool> LeaderElector::TryAcquireOrRenew() {
  const std::string& id = config_.identity;
  const SteadyTime start = config_.steady_now();
  LeaseSpec record = NewRecord();

  // Fast path: a leader with a still-valid lease renews with the cached
  // resourceVersion and skips the GET.
  if (leading_.load() && observed_ && observed_->spec.holder_identity == id && LeaseValid(start) &&
      !observed_->resource_version.empty()) {
    Lease lease = *observed_;
    record.acquire_time = lease.spec.acquire_time;
    record.lease_transitions = lease.spec.lease_transitions;
    lease.spec = record;
    const SteadyTime sent = config_.steady_now();
    auto updated = co_await client_->Update(std::move(lease), RequestDeadlines(sent));
    if (updated.ok()) {
      SetObserved(*updated, config_.steady_now());
      SetError(OkStatus());
      StartLeading(sent);
      ReportTransition();
      co_return true;
    }
    SetError(updated.status());
    // A conflict or error: fall back to the slow path and re-read.
  }

  record = NewRecord();
  auto got = co_await client_->Get(config_.lease_namespace, config_.lease_name,
                                   RequestDeadlines(config_.steady_now()));
  if (!got.ok()) {
    if (got.status().code() != StatusCode::kNotFound) {
      SetError(got.status());
      co_return false;
    }
    Lease lease;
    lease.ns = config_.lease_namespace;
    lease.name = config_.lease_name;
    lease.spec = record;
    const SteadyTime sent = config_.steady_now();
    auto created = co_await client_->Create(std::move(lease), RequestDeadlines(sent));
    co_return TookLease(created, sent);
  }

  // Expiry is measured from when this replica first saw the record as it
  // is now, on the local clock; the record's renewTime is not trusted.
  if (!observed_ || observed_->spec != got->spec) {
    SetObserved(*got, config_.steady_now());
  } else {
    observed_->resource_version = got->resource_version;
    observed_->raw = got->raw;
  }
  ReportTransition();
  const LeaseSpec& old = observed_->spec;
  if (old.holder_identity != id) StopLeading();
  if (!old.holder_identity.empty() && old.holder_identity != id && LeaseValid(start)) {
    SetError(OkStatus());
    co_return false;  // held by another replica and not expired
  }

  if (old.holder_identity == id) {
    record.acquire_time = old.acquire_time;
    record.lease_transitions = old.lease_transitions;
  } else {
    record.lease_transitions = old.lease_transitions + 1;
  }
  Lease lease = *observed_;
  lease.spec = record;
  const SteadyTime sent = config_.steady_now();
  auto updated = co_await client_->Update(std::move(lease), RequestDeadlines(sent));
  co_return TookLease(updated, sent);
}

asio::awaitable<void> LeaderElector::SleepFor(milliseconds d) {
  if (stopping_) co_return;
  timer_->expires_after(std::max(d, milliseconds(0)));
  // Ends early on Stop() (timer cancelled) or on the caller's cancellation.
  co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
}

void LeaderElector::Stop(bool release) {
  if (!stopping_) release_on_stop_ = release;
  stopping_ = true;
  if (timer_) timer_->cancel();
}

asio::awaitable<void> LeaderElector::Release() {
  if (!observed_ || observed_->spec.holder_identity != config_.identity) co_return;
  // client-go's release: empty holder, 1 s duration, transitions kept.
  Lease lease = *observed_;
  WallTime wall = config_.wall_now();
  lease.spec.holder_identity.clear();
  lease.spec.lease_duration_seconds = 1;
  lease.spec.acquire_time = wall;
  lease.spec.renew_time = wall;
  milliseconds d = std::min<milliseconds>(config_.renew_deadline, milliseconds(5'000));
  auto updated = co_await client_->Update(std::move(lease), net::Deadlines{d, d, d, d, d});
  if (!updated.ok()) {
    // Harmless: the lease then expires after LeaseDuration.
    SetError(updated.status());
    co_return;
  }
  SetObserved(*updated, config_.steady_now());
  ReportTransition();
}

asio::awaitable<void> LeaderElector::Run() {
  // Cancellation of the awaiting coroutine is observed by checking the state
  // after each wait, so the release below can still send its request.
  co_await asio::this_coro::throw_if_cancelled(false);
  auto executor = co_await asio::this_coro::executor;
  timer_ = std::make_unique<asio::steady_timer>(executor);

  auto cancelled = []() -> asio::awaitable<bool> {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
  };

  while (!stopping_) {
    co_await TryAcquireOrRenew();
    if (co_await cancelled()) Stop(config_.release_on_cancel);
    if (stopping_) break;
    SteadyTime now = config_.steady_now();
    if (leading_.load()) {
      SteadyTime deadline = write_deadline();
      if (now >= deadline) {
        StopLeading();
        continue;
      }
      // Renew every RetryPeriod, but wake at the write deadline so
      // leadership ends the moment writes must stop.
      auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
      co_await SleepFor(std::min(config_.retry_period, left));
      if (leading_.load() && config_.steady_now() >= write_deadline()) StopLeading();
    } else {
      double jitter = 1.0 + config_.rng() * kJitterFactor;
      co_await SleepFor(milliseconds(static_cast<int64_t>(
          static_cast<double>(config_.retry_period.count()) * jitter)));
    }
    if (co_await cancelled()) Stop(config_.release_on_cancel);
  }

  const bool was_leading = leading_.load();
  StopLeading();  // writers stop before the lease can change hands
  if (was_leading && release_on_stop_) {
    co_await asio::this_coro::reset_cancellation_state();
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await Release();
  }
}

}  // namespace dbconnd::k8s
