#include "controller/work_queue.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace dbconnd::controller {

std::chrono::milliseconds Jittered(std::chrono::milliseconds interval, double fraction,
                                   double uniform01) {
  double factor = 1.0 - fraction + 2.0 * fraction * std::clamp(uniform01, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::llround(static_cast<double>(interval.count()) * factor)));
}

WorkQueue::WorkQueue(Options options) : options_(std::move(options)) {
  if (options_.concurrency == 0) options_.concurrency = 1;
  if (!options_.clock) options_.clock = [] { return Clock::now(); };
  if (!options_.rng) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    options_.rng = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
}

void WorkQueue::Enqueue(const std::string& key, TimePoint since) {
  if (queued_.count(key)) return;
  queued_.emplace(key, since);
  ready_.push_back(key);
}

void WorkQueue::EraseWaiting(const std::string& key) {
  auto it = waiting_.find(key);
  if (it == waiting_.end()) return;
  due_order_.erase({it->second, key});
  waiting_.erase(it);
}

void WorkQueue::Add(const std::string& key) {
  if (shutting_down_) return;
  EraseWaiting(key);  // ready now beats ready later
  if (processing_.count(key)) {
    dirty_.insert(key);
    return;
  }
  Enqueue(key, Now());
}

void WorkQueue::AddAfter(const std::string& key, Duration delay) {
  if (shutting_down_) return;
  if (delay <= Duration::zero()) {
    Add(key);
    return;
  }
  if (queued_.count(key)) return;  // already ready: sooner than any delay
  TimePoint due = Now() + delay;
  auto it = waiting_.find(key);
  if (it == waiting_.end()) {
    waiting_.emplace(key, due);
    due_order_.emplace(due, key);
  } else if (due < it->second) {
    due_order_.erase({it->second, key});
    it->second = due;
    due_order_.emplace(due, key);
  }
}

WorkQueue::Duration WorkQueue::BaseBackoff(int failures) const {
  if (failures < 1) failures = 1;
  double ms = static_cast<double>(options_.base_backoff.count()) *
              std::pow(2.0, std::min(failures - 1, 40));
  ms = std::min(ms, static_cast<double>(options_.max_backoff.count()));
  return Duration(static_cast<int64_t>(ms));
}

WorkQueue::Duration WorkQueue::AddRateLimited(const std::string& key) {
  int n = ++failures_[key];
  Duration d = Jittered(BaseBackoff(n), options_.backoff_jitter, options_.rng());
  d = std::clamp(d, Duration(1), options_.max_backoff);
  AddAfter(key, d);
  return d;
}

void WorkQueue::Forget(const std::string& key) { failures_.erase(key); }

int WorkQueue::Failures(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::Remove(const std::string& key) {
  EraseWaiting(key);
  failures_.erase(key);
  dirty_.erase(key);
  if (queued_.erase(key)) {
    ready_.erase(std::remove(ready_.begin(), ready_.end(), key), ready_.end());
  }
}

void WorkQueue::PromoteDue() {
  TimePoint now = Now();
  // In due order, so an earlier-due key is handed out first.
  while (!due_order_.empty() && due_order_.begin()->first <= now) {
    auto [when, key] = *due_order_.begin();
    due_order_.erase(due_order_.begin());
    waiting_.erase(key);
    if (processing_.count(key)) {
      dirty_.insert(key);
    } else {
      Enqueue(key, when);
    }
  }
}

std::optional<std::string> WorkQueue::TryGet() {
  if (shutting_down_) return std::nullopt;
  PromoteDue();
  if (processing_.size() >= options_.concurrency || ready_.empty()) return std::nullopt;
  std::string key = std::move(ready_.front());
  ready_.pop_front();
  queued_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  processing_.erase(key);
  if (dirty_.erase(key) && !shutting_down_) Enqueue(key, Now());
}

std::optional<WorkQueue::TimePoint> WorkQueue::NextWakeup() const {
  if (due_order_.empty()) return std::nullopt;
  return due_order_.begin()->first;
}

std::optional<WorkQueue::TimePoint> WorkQueue::DelayedUntil(const std::string& key) const {
  auto it = waiting_.find(key);
  if (it == waiting_.end()) return std::nullopt;
  return it->second;
}

double WorkQueue::OldestAgeSeconds() const {
  if (ready_.empty()) return 0.0;
  // FIFO: the front has waited longest (promoted keys carry their due time).
  TimePoint oldest = queued_.at(ready_.front());
  return std::max(0.0, std::chrono::duration<double>(Now() - oldest).count());
}

}  // namespace dbconnd::controller
