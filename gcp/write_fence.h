#pragma once
// The last-moment write fence: asked by RestClient immediately before the
// bytes of a mutation (a RestCall of kind kMutation) are handed to the transport —
// after the rate-limiter wait, the token fetch and any retry sleep, with
// nothing awaited in between (Admit) — and asked again by the transport once
// its connection is ready, right before the first byte is written (Recheck,
// through net::HttpClient::SendChecked), so a replica that lost its Lease
// while a write queued or connected sends nothing.
//
// `lease_valid_until` says until when this replica may write (for leader
// election: LeaderElector::write_deadline(), time_point::min() when not
// leading; no function = no lease, always valid). An admitted write gets a
// deadline no later than that instant: its request is abandoned when the
// lease stops being valid, so no byte of it goes out after another replica
// may have taken over.
//
// Close() (SIGTERM) refuses every later write. In-flight writes are counted
// with their deadlines; Quiet() is the instant after which none of them can
// still be on the wire, and WaitQuiet() waits for it, so the Lease is
// released only when no write of this replica can still land.
//
// Thread-safe; Admit is cheap (one mutex, no allocation beyond the ticket).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gcp/retry.h"
#include "net/http.h"

namespace dbconnd::gcp {

// The reason on a Status refused by the fence (the same word the controller
// uses for a write refused by --observe or a lost lease).
inline constexpr char kWriteFencedReason[] = "writeRefused";

class WriteFence {
 public:
  explicit WriteFence(std::function<SteadyTime()> lease_valid_until = nullptr,
                      Clock clock = SteadyClock());

  // Held while an admitted write is in flight; releases its slot when
  // destroyed.
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    ~Ticket();
    // The latest instant the request may still be in flight.
    SteadyTime deadline() const { return deadline_; }

   private:
    friend class WriteFence;
    Ticket(WriteFence* fence, std::multiset<SteadyTime>::iterator it, SteadyTime deadline)
        : fence_(fence), it_(it), deadline_(deadline) {}
    WriteFence* fence_;
    std::multiset<SteadyTime>::iterator it_;
    SteadyTime deadline_;
  };

  // Admits one write that wants to finish by `wanted`: a ticket whose
  // deadline is min(wanted, lease validity). FAILED_PRECONDITION (reason
  // kWriteFencedReason) naming `what` when closed or the lease is not valid
  // now. Counts refusals.
  StatusOr<Ticket> Admit(std::string_view what, SteadyTime wanted);
  // The same conditions asked again for a write already admitted, right
  // before its first byte goes out (after the transport's connection wait;
  // net::HttpClient::SendChecked): closed, lease no longer valid or the gate
  // refusing now means it is not sent. Counts refusals.
  Status Recheck(std::string_view what);

  // One more condition every write must pass, asked after the lease (e.g.
  // "the journal could write this write's record"). Its Status, when not
  // OK, is the refusal (code and reason kept). Set before writes start.
  void SetGate(std::function<Status()> gate);

  // No write is admitted from now on.
  void Close(std::string why);
  bool closed() const;

  int in_flight() const;
  // The instant after which no admitted write can still be in flight: now
  // when none is.
  SteadyTime Quiet() const;
  // Returns once nothing is in flight or Quiet() has passed; bounded by
  // `limit` as a guard. Polls every `poll`.
  boost::asio::awaitable<void> WaitQuiet(SteadyTime limit,
                                         std::chrono::milliseconds poll = std::chrono::milliseconds(10));

  // Writes refused at the last moment since start (for a metric and tests).
  int64_t refused() const;

 private:
  void Release(std::multiset<SteadyTime>::iterator it);
  // Why a write may not go out now (mu_ held); OK when it may.
  Status RefusalLocked(std::string_view what, SteadyTime now, SteadyTime valid_until);

  std::function<SteadyTime()> lease_valid_until_;
  std::function<Status()> gate_;
  Clock clock_;
  mutable std::mutex mu_;
  bool closed_ = false;
  std::string closed_why_;
  std::multiset<SteadyTime> in_flight_;
  int64_t refused_ = 0;
};

// Caps every phase of `d` so the request ends by `until` (at least 1 ms, so a
// capped request still fails cleanly as a timeout rather than not at all).
net::Deadlines CapDeadlines(net::Deadlines d, SteadyTime now, SteadyTime until);

}  // namespace dbconnd::gcp
