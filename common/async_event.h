#pragma once
// An event coroutines wait on, with a deadline: one waiter woken at a time in
// the order they arrived (NotifyOne), or all of them (NotifyAll). Each
// waiter sleeps on its own asio experimental channel; a notification or the
// waiter's deadline timer sends into it, so a wake-up is a message, never a
// cancelled timer to be told apart from a real cancellation.
//
// Notifications are not stored: a NotifyOne with nobody waiting returns
// false and is gone (a caller that needs a latch keeps a flag and checks it
// before Wait; on one strand nothing runs between the check and the wait
// joining the queue, which happens before Wait first suspends).
//
// A waiter picked by NotifyOne/NotifyAll gets kNotified even if its
// coroutine is cancelled before it resumes: a hand-off (a connection slot, a
// lock) is never lost. Threading: one strand; the executor is the awaiting
// coroutine's.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

namespace dbconnd::common {

class AsyncEvent {
 public:
  enum class WaitResult { kNotified, kTimedOut, kCancelled };

  AsyncEvent();
  ~AsyncEvent();  // waiters still queued are cancelled
  AsyncEvent(const AsyncEvent&) = delete;
  AsyncEvent& operator=(const AsyncEvent&) = delete;

  // Waits until notified or until `deadline` (already past: kTimedOut at
  // once, after joining and leaving the queue). kCancelled when the awaiting
  // coroutine's cancellation slot fires or the event is destroyed first.
  boost::asio::awaitable<WaitResult> Wait(std::chrono::steady_clock::time_point deadline);

  // Wakes the waiter that has waited longest; false when nobody waits.
  bool NotifyOne();
  // Wakes every waiter queued now; returns how many.
  std::size_t NotifyAll();

  std::size_t waiters() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dbconnd::common
