#pragma once
// A keyed, deduplicated work queue with client-go workqueue semantics:
//
// - A key is in the queue at most once; adding a queued key is a no-op.
// - A key being processed is never handed out twice. Adding it meanwhile
//   marks it dirty; Done() puts it back so the change is not lost.
// - Delayed adds (resync, backoff) wait in a side table and keep only the
//   earliest time per key; an immediate Add beats a pending delayed one.
// - Per-key failure counts drive exponential backoff with jitter
//   (AddRateLimited); Forget() resets them after a success.
// - At most `concurrency` keys are handed out at once.
//
// Pure data structure: no timers, no threads. The controller asks
// NextWakeup() and sleeps until then; the clock and randomness are injected so
// tests drive time by hand. Not thread-safe: one strand owns it.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace dbconnd::controller {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = std::chrono::milliseconds;

  struct Options {
    std::size_t concurrency = 8;
    Duration base_backoff{1'000};
    Duration max_backoff{std::chrono::minutes(5)};
    // Backoff delay d becomes uniform in [d(1 - j), d(1 + j)], capped at max.
    double backoff_jitter = 0.2;
    std::function<TimePoint()> clock;  // default: steady clock
    std::function<double()> rng;       // uniform in [0, 1); default: PRNG
  };

  WorkQueue() : WorkQueue(Options()) {}
  explicit WorkQueue(Options options);

  // Ready now. No-op when queued; marks dirty when processing.
  void Add(const std::string& key);
  // Ready after `delay` (<= 0: now). Keeps the earliest pending time per key.
  void AddAfter(const std::string& key, Duration delay);
  // Records a failure and re-adds after the backoff for the new count.
  // Returns the delay chosen.
  Duration AddRateLimited(const std::string& key);
  // Clears the failure history of `key` (call after a success).
  void Forget(const std::string& key);
  int Failures(const std::string& key) const;
  // Drops every trace of the key (the intent left the configuration).
  // A key being processed is only forgotten; Done() will not requeue it.
  void Remove(const std::string& key);

  // The next ready key, if one is ready and a concurrency slot is free; the
  // key is then "processing" until Done(key).
  std::optional<std::string> TryGet();
  void Done(const std::string& key);

  // Earliest time a delayed key becomes ready; nullopt when none waits.
  std::optional<TimePoint> NextWakeup() const;

  // Stop handing out work; Add becomes a no-op.
  void ShutDown() { shutting_down_ = true; }
  bool shutting_down() const { return shutting_down_; }

  // Metrics: ready keys, keys being processed, delayed keys, and how long the
  // oldest ready key has waited (0 when none).
  std::size_t depth() const { return ready_.size(); }
  std::size_t processing() const { return processing_.size(); }
  std::size_t delayed() const { return waiting_.size(); }
  double OldestAgeSeconds() const;
  bool IsQueued(const std::string& key) const { return queued_.count(key) != 0; }
  bool IsProcessing(const std::string& key) const { return processing_.count(key) != 0; }
  // When the key is due if delayed.
  std::optional<TimePoint> DelayedUntil(const std::string& key) const;

  // Backoff for the n-th consecutive failure (n >= 1), before jitter.
  Duration BaseBackoff(int failures) const;

 private:
  TimePoint Now() const { return options_.clock(); }
  void PromoteDue();
  void Enqueue(const std::string& key, TimePoint since);
  void EraseWaiting(const std::string& key);

  Options options_;
  bool shutting_down_ = false;
  std::deque<std::string> ready_;
  std::map<std::string, TimePoint> queued_;  // key -> when it became ready
  std::set<std::string> processing_;
  std::set<std::string> dirty_;
  std::map<std::string, TimePoint> waiting_;  // delayed key -> due time
  std::set<std::pair<TimePoint, std::string>> due_order_;  // the same, by due time
  std::map<std::string, int> failures_;
};

// `interval` scaled by a uniform factor in [1 - fraction, 1 + fraction].
std::chrono::milliseconds Jittered(std::chrono::milliseconds interval, double fraction,
                                   double uniform01);

}  // namespace dbconnd::controller
