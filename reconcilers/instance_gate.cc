#include "reconcilers/instance_gate.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

namespace dbconnd::reconcilers {

namespace asio = boost::asio;

struct InstanceOperationGate::Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  bool granted = false;
};

InstanceOperationGate::Hold::Hold(Hold&& other) noexcept
    : gate_(std::move(other.gate_)), key_(std::move(other.key_)) {
  other.gate_.reset();
}

InstanceOperationGate::Hold& InstanceOperationGate::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    Release();
    gate_ = std::move(other.gate_);
    key_ = std::move(other.key_);
    other.gate_.reset();
  }
  return *this;
}

void InstanceOperationGate::Hold::Release() {
  if (!gate_) return;
  auto gate = std::move(gate_);
  gate_.reset();
  gate->Release(key_);
}

void InstanceOperationGate::Release(const std::string& key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  Slot& slot = it->second;
  // Hand the instance straight to the next waiter so nobody can overtake it.
  if (!slot.waiters.empty()) {
    auto next = slot.waiters.front();
    slot.waiters.pop_front();
    next->granted = true;
    next->timer.cancel();
    return;
  }
  slots_.erase(it);
}

bool InstanceOperationGate::IsHeld(const std::string& project, const std::string& instance) const {
  auto it = slots_.find(project + "/" + instance);
  return it != slots_.end() && it->second.held;
}

gcp::Task<StatusOr<InstanceOperationGate::Hold>> InstanceOperationGate::Acquire(
    std::string project, std::string instance, std::chrono::steady_clock::time_point deadline) {
  std::string key = project + "/" + instance;
  auto self = shared_from_this();
  Slot& slot = slots_[key];
  if (!slot.held) {
    slot.held = true;
    co_return Hold(self, key);
  }
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  waiter->timer.expires_at(deadline);
  slot.waiters.push_back(waiter);
  auto [ec] = co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (waiter->granted) co_return Hold(self, key);
  // Timed out or cancelled: leave the queue (the slot may be gone by now).
  auto it = self->slots_.find(key);
  if (it != self->slots_.end()) {
    auto& q = it->second.waiters;
    q.erase(std::remove(q.begin(), q.end(), waiter), q.end());
  }
  if (ec == asio::error::operation_aborted) {
    co_return CancelledError("cancelled while waiting for another operation on Cloud SQL instance " +
                             key);
  }
  co_return DeadlineExceededError("timed out waiting for another dbconnd operation on Cloud SQL "
                                  "instance " + key + " to finish");
}

}  // namespace dbconnd::reconcilers
