// The pass observer room: one pass's writes journaled, counted and turned
// into fight-breaker corrections, without a controller around it.
#include <catch2/catch.hpp>

#include <memory>

#include "controller/journal.h"
#include "controller/pass_observer.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

using reconcilers::ResourceKind;

reconcilers::Step InstanceStep() {
  reconcilers::Step s;
  s.id = "instance/db";
  s.resource = {ResourceKind::kInstance, "db"};
  s.changes.push_back({"settings.ipConfiguration.sslMode", "ALLOW", "ENCRYPTED_ONLY"});
  return s;
}

struct Ledger {
  int unjournaled = 0;
  int64_t total_writes = 0;
  bool stopping = false;
  std::shared_ptr<reconcilers::RequestIds> ids = std::make_shared<reconcilers::RequestIds>();
  PassLedger For(Journal* journal) {
    return PassLedger{journal, nullptr, ids, &unjournaled, &total_writes, &stopping};
  }
};

TEST_CASE("PassObserver journals a write from before to its outcome and counts it") {
  testutil::TempDir dir;
  auto journal = Journal::Open(dir.path());
  REQUIRE(journal.ok());
  Ledger ledger;
  PassObserver observer(ledger.For(journal->get()), "saleor", 3, "r1");
  const reconcilers::Step step = InstanceStep();
  observer.BeforeMutation(step, R"({"settings.ipConfiguration.sslMode":"ALLOW"})");
  REQUIRE((*journal)->Unfinished("saleor").size() == 1);
  observer.Finished(step, Status());
  CHECK((*journal)->Unfinished("saleor").empty());
  REQUIRE((*journal)->entries().size() == 1);
  CHECK((*journal)->entries()[0].step == "instance/db");
  CHECK((*journal)->entries()[0].outcome_code == "OK");
  CHECK(observer.writes == 1);
  CHECK(ledger.total_writes == 1);
  REQUIRE(observer.corrections.size() == 1);
  CHECK(observer.corrections[0].first == "instance");
  CHECK(observer.corrections[0].second == "settings.ipConfiguration.sslMode");
}

TEST_CASE("PassObserver: a refused write counts as sent but is no correction") {
  Ledger ledger;
  {
    PassObserver observer(ledger.For(nullptr), "saleor", 1, "r2");
    observer.BeforeMutation(InstanceStep(), "{}");
    observer.Finished(InstanceStep(), FailedPreconditionError("refused"));
    CHECK(observer.corrections.empty());
    CHECK(observer.writes == 1);  // sent, and refused by Google
  }
  CHECK(ledger.unjournaled == 0);
  CHECK(ledger.total_writes == 1);
}

TEST_CASE("MetricKind and KeepsRequestId") {
  CHECK(MetricKind(ResourceKind::kServicePeering) == "private_services_access");
  CHECK(MetricKind(ResourceKind::kJob) == "job");
  CHECK(KeepsRequestId(StatusCode::kUnavailable));
  CHECK_FALSE(KeepsRequestId(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dbconnd::controller
