// operation_poll_bench [runs=1000]
// How many operations.get one long-running operation costs, with the
// daemon's poll schedule (gcp::WaitOptions: 1 s doubling to a 30 s cap, each
// interval stretched by up to 10% jitter). Runs gcp::WaitForOperation on a
// virtual clock against a fake Cloud SQL that finishes the operation after a
// fixed time, `runs` times per duration with real randomness, and reports
// the poll counts (the dbconnd_operation_polls histogram observes the same
// number per wait) and how long after the operation ended the wait noticed.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "gcp/api.h"
#include "gcp/operations.h"

namespace {

using namespace std::chrono_literals;
using dbconnd::Status;
using dbconnd::StatusOr;
using dbconnd::gcp::Operation;
using dbconnd::gcp::SteadyTime;
using dbconnd::gcp::Task;

struct VirtualTime {
  SteadyTime now = SteadyTime{} + 1h;
};

// Cloud SQL whose one operation is DONE once `duration` has passed.
class FakeSql : public dbconnd::gcp::SqlAdmin {
 public:
  FakeSql(VirtualTime* time, std::chrono::milliseconds duration)
      : time_(time), done_at_(time->now + duration) {}
  Task<StatusOr<dbconnd::gcp::SqlInstance>> GetInstance(std::string, std::string) override {
    co_return dbconnd::UnimplementedError("bench");
  }
  Task<StatusOr<std::vector<dbconnd::gcp::SqlInstance>>> ListInstances(std::string) override {
    co_return dbconnd::UnimplementedError("bench");
  }
  Task<StatusOr<Operation>> PatchInstance(std::string, std::string,
                                          dbconnd::gcp::SqlInstancePatch) override {
    co_return dbconnd::UnimplementedError("bench");
  }
  Task<StatusOr<Operation>> GetOperation(std::string project, std::string name) override {
    Operation op;
    op.project = project;
    op.name = name;
    op.done = time_->now >= done_at_;
    co_return op;
  }
  Task<StatusOr<std::vector<Operation>>> ListOperations(std::string, std::string) override {
    co_return dbconnd::UnimplementedError("bench");
  }
  SteadyTime done_at() const { return done_at_; }

 private:
  VirtualTime* time_;
  SteadyTime done_at_;
};

struct Outcome {
  int polls = 0;
  double late_seconds = 0;  // noticed after the operation ended
};

Task<void> OneWait(VirtualTime* time, std::chrono::milliseconds duration, Outcome* out) {
  FakeSql sql(time, duration);
  dbconnd::gcp::Clients clients;
  clients.sql = &sql;
  Operation op;
  op.api = dbconnd::gcp::Api::kSqlAdmin;
  op.project = "p";
  op.name = "op";
  op.started_by = "instances.patch";
  dbconnd::gcp::WaitOptions w;  // the defaults the daemon runs with
  w.timeout = 2h;
  w.clock = [time] { return time->now; };
  w.sleeper = [time](std::chrono::milliseconds d) -> boost::asio::awaitable<Status> {
    time->now += d;
    co_return dbconnd::OkStatus();
  };
  w.progress = [out](const dbconnd::gcp::WaitProgress&) { ++out->polls; };
  auto r = co_await dbconnd::gcp::WaitForOperation(clients, op, w);
  if (!r.ok()) std::abort();
  ++out->polls;  // the last poll, which found it done, reports no progress
  out->late_seconds = std::chrono::duration<double>(time->now - sql.done_at()).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::printf("%-10s %8s %8s %8s %18s\n", "operation", "polls", "polls", "polls", "noticed after");
  std::printf("%-10s %8s %8s %8s %18s\n", "takes", "min", "p50", "max", "p50 / max");
  for (std::chrono::milliseconds duration : {std::chrono::milliseconds(30s), std::chrono::milliseconds(2min), std::chrono::milliseconds(5min), std::chrono::milliseconds(15min), std::chrono::milliseconds(30min)}) {
    std::vector<int> polls;
    std::vector<double> late;
    for (int i = 0; i < runs; ++i) {
      boost::asio::io_context io;
      VirtualTime time;
      Outcome out;
      boost::asio::co_spawn(io, OneWait(&time, duration, &out), boost::asio::detached);
      io.run();
      polls.push_back(out.polls);
      late.push_back(out.late_seconds);
    }
    std::sort(polls.begin(), polls.end());
    std::sort(late.begin(), late.end());
    std::printf("%-10s %8d %8d %8d %8.1f / %4.1f s\n",
                (std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) + " s").c_str(),
                polls.front(), polls[polls.size() / 2], polls.back(), late[late.size() / 2],
                late.back());
  }
  return 0;
}
