#include "gcp/write_fence.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dbconnd::gcp {

namespace asio = boost::asio;
using std::chrono::milliseconds;

WriteFence::WriteFence(std::function<SteadyTime()> lease_valid_until, Clock clock)
    : lease_valid_until_(std::move(lease_valid_until)),
      clock_(clock ? std::move(clock) : SteadyClock()) {}

WriteFence::Ticket::Ticket(Ticket&& other) noexcept
    : fence_(other.fence_), it_(other.it_), deadline_(other.deadline_) {
  other.fence_ = nullptr;
}

WriteFence::Ticket::~Ticket() {
  if (fence_ != nullptr) fence_->Release(it_);
}

void WriteFence::Release(std::multiset<SteadyTime>::iterator it) {
  std::lock_guard lock(mu_);
  in_flight_.erase(it);
}

StatusOr<WriteFence::Ticket> WriteFence::Admit(std::string_view what, SteadyTime wanted) {
  const SteadyTime now = clock_();
  // Read the lease before taking the lock: the elector has its own.
  const SteadyTime valid_until =
      lease_valid_until_ ? lease_valid_until_() : SteadyTime::max();
  std::lock_guard lock(mu_);
  Status refused = RefusalLocked(what, now, valid_until);
  if (!refused.ok()) return refused;
  const SteadyTime deadline = std::min(wanted, valid_until);
  auto it = in_flight_.insert(deadline);
  return Ticket(this, it, deadline);
}

Status WriteFence::Recheck(std::string_view what) {
  const SteadyTime now = clock_();
  const SteadyTime valid_until =
      lease_valid_until_ ? lease_valid_until_() : SteadyTime::max();
  std::lock_guard lock(mu_);
  return RefusalLocked(what, now, valid_until);
}

Status WriteFence::RefusalLocked(std::string_view what, SteadyTime now, SteadyTime valid_until) {
  if (closed_) {
    ++refused_;
    return FailedPreconditionError(std::string(what) + ": not sent: " + closed_why_)
        .WithReason(kWriteFencedReason);
  }
  if (now >= valid_until) {
    ++refused_;
    return FailedPreconditionError(
               std::string(what) +
               ": not sent: not the leader (the Lease is held by another replica or was not "
               "renewed in time)")
        .WithReason(kWriteFencedReason);
  }
  if (gate_) {
    Status gate = gate_();
    if (!gate.ok()) {
      ++refused_;
      Status out(gate.code(), std::string(what) + ": not sent: " + gate.message());
      if (!gate.reason().empty()) out.WithReason(gate.reason());
      return out;
    }
  }
  return Status();
}

void WriteFence::SetGate(std::function<Status()> gate) {
  std::lock_guard lock(mu_);
  gate_ = std::move(gate);
}

void WriteFence::Close(std::string why) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  closed_why_ = std::move(why);
}

bool WriteFence::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

int WriteFence::in_flight() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(in_flight_.size());
}

SteadyTime WriteFence::Quiet() const {
  const SteadyTime now = clock_();
  std::lock_guard lock(mu_);
  if (in_flight_.empty()) return now;
  return std::max(now, *in_flight_.rbegin());
}

int64_t WriteFence::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

asio::awaitable<void> WriteFence::WaitQuiet(SteadyTime limit, milliseconds poll) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    const SteadyTime now = clock_();
    if (in_flight() == 0 || now >= Quiet() || now >= limit) co_return;
    // The fence's clock may be a test clock; sleep in short real steps.
    timer.expires_after(std::max(poll, milliseconds(1)));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

net::Deadlines CapDeadlines(net::Deadlines d, SteadyTime now, SteadyTime until) {
  if (until == SteadyTime::max()) return d;
  milliseconds left = until <= now ? milliseconds(1)
                                   : std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(until - now));
  for (milliseconds* phase : {&d.connect, &d.handshake, &d.write, &d.read, &d.total}) {
    *phase = std::min(*phase, left);
  }
  return d;
}

}  // namespace dbconnd::gcp
