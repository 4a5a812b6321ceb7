#pragma once
// At most one Cloud SQL operation in flight per instance across the whole
// process. Cloud SQL refuses a second admin operation on an instance with 409
// operationInProgress; two reconciles of the same instance (an apply pass and
// the controller's resync, or two intents sharing an instance through a
// misconfiguration) would otherwise turn that into a retry storm. Holders
// keep the gate from before the PATCH until its operation is DONE.
//
// One gate object is shared by everything that mutates instances (pass the
// same shared_ptr in every ApplyOptions). Threading: used from one strand;
// no locks. Waiters are served first come, first served.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/async_event.h"
#include "common/status.h"
#include "gcp/api.h"

namespace dbconnd::reconcilers {

class InstanceOperationGate : public std::enable_shared_from_this<InstanceOperationGate> {
 public:
  // Releases the instance when destroyed (or on Release()).
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept;
    Hold& operator=(Hold&& other) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() { Release(); }
    void Release();
    bool held() const { return gate_ != nullptr; }

   private:
    friend class InstanceOperationGate;
    Hold(std::shared_ptr<InstanceOperationGate> gate, std::string key)
        : gate_(std::move(gate)), key_(std::move(key)) {}
    std::shared_ptr<InstanceOperationGate> gate_;
    std::string key_;
  };

  static std::shared_ptr<InstanceOperationGate> Create() {
    return std::shared_ptr<InstanceOperationGate>(new InstanceOperationGate());
  }

  // Waits until the instance is free, at most until `deadline`:
  // DEADLINE_EXCEEDED naming the instance otherwise; CANCELLED when the
  // awaiting coroutine is cancelled.
  gcp::Task<StatusOr<Hold>> Acquire(std::string project, std::string instance,
                                    std::chrono::steady_clock::time_point deadline);

  // For tests and status: whether someone holds the instance now.
  bool IsHeld(const std::string& project, const std::string& instance) const;

 private:
  InstanceOperationGate() = default;
  struct Slot {
    bool held = false;
    // Waiters in arrival order; a release hands the instance to the first.
    std::unique_ptr<common::AsyncEvent> released = std::make_unique<common::AsyncEvent>();
  };
  void Release(const std::string& key);

  std::map<std::string, Slot> slots_;
};

}  // namespace dbconnd::reconcilers
