#include "common/async_event.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>

namespace dbconnd::common {

namespace asio = boost::asio;
using WaitResult = AsyncEvent::WaitResult;

namespace {

// One waiter: its channel carries the one message that ends its wait.
struct Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : channel(ex, 1), timer(ex) {}
  asio::experimental::channel<void(boost::system::error_code, WaitResult)> channel;
  asio::steady_timer timer;
  // Set once, by whoever ends the wait first (notify, deadline, event gone).
  bool decided = false;
  WaitResult result = WaitResult::kCancelled;
  std::list<std::shared_ptr<Waiter>>::iterator position;
};

}  // namespace

struct AsyncEvent::Impl {
  std::list<std::shared_ptr<Waiter>> queue;

  // Takes `w` off the queue with `result` and wakes its coroutine.
  void Decide(const std::shared_ptr<Waiter>& w, WaitResult result) {
    if (w->decided) return;
    w->decided = true;
    w->result = result;
    queue.erase(w->position);
    w->timer.cancel();
    w->channel.try_send(boost::system::error_code(), result);
  }
};

AsyncEvent::AsyncEvent() : impl_(std::make_shared<Impl>()) {}

AsyncEvent::~AsyncEvent() {
  while (!impl_->queue.empty()) {
    auto w = impl_->queue.front();
    impl_->Decide(w, WaitResult::kCancelled);
  }
}

std::size_t AsyncEvent::waiters() const { return impl_->queue.size(); }

bool AsyncEvent::NotifyOne() {
  if (impl_->queue.empty()) return false;
  auto w = impl_->queue.front();
  impl_->Decide(w, WaitResult::kNotified);
  return true;
}

std::size_t AsyncEvent::NotifyAll() {
  std::size_t n = 0;
  while (NotifyOne()) ++n;
  return n;
}

asio::awaitable<WaitResult> AsyncEvent::Wait(std::chrono::steady_clock::time_point deadline) {
  // The queue entry is made before the first suspension (see the header).
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<Impl> impl = impl_;
  auto w = std::make_shared<Waiter>(ex);
  w->position = impl->queue.insert(impl->queue.end(), w);
  w->timer.expires_at(deadline);
  std::weak_ptr<Impl> weak_impl = impl;
  std::weak_ptr<Waiter> weak_waiter = w;
  w->timer.async_wait([weak_impl, weak_waiter](boost::system::error_code ec) {
    if (ec) return;  // cancelled: decided already
    auto im = weak_impl.lock();
    auto waiter = weak_waiter.lock();
    if (im && waiter) im->Decide(waiter, WaitResult::kTimedOut);
  });
  // A frame destroyed while suspended here (its io_context shut down)
  // leaves the queue on the way out and is never sent to.
  struct Leave {
    Impl* impl;
    Waiter* w;
    ~Leave() {
      if (w->decided) return;
      w->decided = true;
      impl->queue.erase(w->position);
    }
  } leave{impl.get(), w.get()};
  auto [ec, result] = co_await w->channel.async_receive(asio::as_tuple(asio::use_awaitable));
  if (w->decided) co_return w->result;  // a hand-off wins over a late cancel
  // Cancelled while queued: leave the queue, so nobody hands to us later.
  (void)ec;
  (void)result;
  impl->Decide(w, WaitResult::kCancelled);
  co_return WaitResult::kCancelled;
}

}  // namespace dbconnd::common
