#include "reconcilers/instance_gate.h"

namespace dbconnd::reconcilers {

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
  if (slot.released->NotifyOne()) return;
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
  // The slot outlives this wait only while someone holds it; the event's
  // own state keeps the wait safe if it goes (see common/async_event.h).
  switch (co_await slot.released->Wait(deadline)) {
    case common::AsyncEvent::WaitResult::kNotified:
      co_return Hold(self, key);
    case common::AsyncEvent::WaitResult::kCancelled:
      co_return CancelledError(
          "cancelled while waiting for another operation on Cloud SQL instance " + key);
    case common::AsyncEvent::WaitResult::kTimedOut:
      break;
  }
  co_return DeadlineExceededError("timed out waiting for another dbconnd operation on Cloud SQL "
                                  "instance " + key + " to finish");
}

}  // namespace dbconnd::reconcilers
