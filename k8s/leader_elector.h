#pragma once
// Leader election over a coordination.k8s.io/v1 Lease with client-go's
// semantics (k8s.io/client-go/tools/leaderelection):
// https://github.com/kubernetes/client-go/blob/master/tools/leaderelection/leaderelection.go
//
// - A lease is free when its holder is empty or when this replica has seen
//   the same record, unchanged, for its leaseDurationSeconds on its OWN
//   monotonic clock. The remote renewTime is never compared with the local
//   clock, so wall-clock skew between nodes does not matter.
// - Candidates retry every RetryPeriod with client-go's jitter (x1..x2.2);
//   the leader renews every RetryPeriod.
// - Writes carry the resourceVersion last read: a concurrent writer gets a
//   409 and re-reads. leaseTransitions grows by one on every takeover.
// - Stop() with release gives the lease up (holder "", duration 1 s) like
//   ReleaseOnCancel, so a standby takes over within about one RetryPeriod.
//
// Fencing (the reason this exists): CanWrite(now) is true only while
//   now < send time of the last successful acquire/renew + RenewDeadline.
// Another replica can take the lease only LeaseDuration after it saw that
// write, which happened after it was sent, so a leader that is paused,
// partitioned or slow stops writing at least LeaseDuration - RenewDeadline
// before anyone else may start. Callers check CanWrite right before each
// mutation. Leadership also ends (OnStoppedLeading) at that instant, which is
// stricter than client-go (it allows RetryPeriod more).
//
// Unlike client-go's Run, which returns after leadership is lost, Run here
// goes back to being a candidate, so a standby that lost the lease keeps
// its caches warm and can lead again.
//
// Threading: Run and the callbacks run on the executor Run is spawned on;
// callbacks must not block. is_leader(), CanWrite() and leader_identity()
// may be called from any thread.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "k8s/lease_client.h"

namespace dbconnd::k8s {

using SteadyTime = std::chrono::steady_clock::time_point;

struct LeaderElectionCallbacks {
  // This replica became leader: start writing (still check CanWrite).
  std::function<void()> on_started_leading;
  // This replica stopped leading (lost, expired, or stopping). Runs before
  // the lease is released, so writers stop before anyone can take over.
  std::function<void()> on_stopped_leading;
  // The observed holder changed; "" means nobody holds the lease.
  std::function<void(const std::string&)> on_new_leader;
};

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name = "dbconnd";
  std::string identity;  // the pod name; see DefaultIdentity()
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  bool release_on_cancel = true;
  LeaderElectionCallbacks callbacks;
  // Injectable clocks. `steady_now` measures every duration (lease expiry,
  // fencing); `wall_now` only fills acquireTime/renewTime for humans.
  std::function<SteadyTime()> steady_now;
  std::function<WallTime()> wall_now;
  // Uniform in [0, 1) for the candidate jitter.
  std::function<double()> rng;
};

// client-go's checks: LeaseDuration > RenewDeadline > 1.2 * RetryPeriod,
// all positive, non-empty identity, namespace and name.
Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config);

// POD_NAME from the environment (downward API), else the host name.
std::string DefaultIdentity(const GetEnv& getenv_fn = ProcessEnv());

class LeaderElector {
 public:
  // INVALID_ARGUMENT when the config fails ValidateLeaderElectionConfig.
  static StatusOr<std::unique_ptr<LeaderElector>> Create(std::shared_ptr<LeaseClient> client,
                                                         LeaderElectionConfig config);

  // Campaigns and leads until Stop() or until the awaiting coroutine is
  // cancelled (terminal cancellation = Stop with release_on_cancel). Every
  // wait is bounded; API errors are retried every RetryPeriod forever (a
  // standby with no API access simply never leads). Call once.
  boost::asio::awaitable<void> Run();

  // Ends Run soon. With `release`, a leader first stops leading, then gives
  // the lease up. Without it the lease is left to expire, as a killed
  // process would. Must be called on Run's executor.
  void Stop(bool release = true);

  // One round of client-go's tryAcquireOrRenew. Returns true when this
  // replica holds the lease afterwards. Exposed for tests that step time.
  boost::asio::awaitable<bool> TryAcquireOrRenew();

  bool is_leader() const { return leading_.load(); }
  // See the fencing note at the top.
  bool CanWrite(SteadyTime now) const;
  bool CanWrite() const { return CanWrite(config_.steady_now()); }
  // The instant CanWrite turns false unless renewed (time_point::min() when
  // not leading).
  SteadyTime write_deadline() const;
  std::string leader_identity() const;
  const LeaderElectionConfig& config() const { return config_; }
  // The last error of a lease call (OK when the last call succeeded), for
  // logs and /status. Never contains a token.
  Status last_error() const;

 private:
  LeaderElector(std::shared_ptr<LeaseClient> client, LeaderElectionConfig config);

  boost::asio::awaitable<void> SleepFor(std::chrono::milliseconds d);
  boost::asio::awaitable<void> Release();
  bool LeaseValid(SteadyTime now) const;
  std::chrono::milliseconds ObservedDuration() const;
  void SetObserved(const Lease& lease, SteadyTime now);
  void StartLeading(SteadyTime renewed_at);
  // After a create or update of the Lease sent at `sent`: leads when it was
  // written (true), else records the error (false).
  bool TookLease(const StatusOr<Lease>& written, SteadyTime sent);
  void StopLeading();
  void ReportTransition();
  void SetError(Status s);
  net::Deadlines RequestDeadlines(SteadyTime now) const;
  LeaseSpec NewRecord() const;

  std::shared_ptr<LeaseClient> client_;
  LeaderElectionConfig config_;

  // Owned by Run's executor.
  std::optional<Lease> observed_;  // last record seen (with resourceVersion)
  SteadyTime observed_time_{};     // local time it was first seen unchanged
  std::string reported_leader_;
  bool reported_once_ = false;
  bool stopping_ = false;
  bool release_on_stop_ = true;
  std::unique_ptr<boost::asio::steady_timer> timer_;

  // Readable from any thread.
  std::atomic<bool> leading_{false};
  std::atomic<int64_t> write_deadline_ns_{0};  // steady_clock ns since epoch
  mutable std::mutex mu_;
  std::string leader_identity_;  // guarded by mu_
  Status last_error_;            // guarded by mu_
};

}  // namespace dbconnd::k8s
