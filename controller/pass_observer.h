#pragma once
// The pass observer: what one reconcile pass leaves behind besides status —
// each write journaled (fail closed), counted and logged as it happens
// (PassObserver, a reconcilers::MutationObserver), and the pass's metrics
// once it is over (ReportPass).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "controller/intent_status.h"
#include "controller/journal.h"
#include "controller/metrics.h"
#include "reconcilers/executor.h"

namespace dbconnd::controller {

// The metric kind label for a planner resource kind.
std::string_view MetricKind(reconcilers::ResourceKind kind);

// A write that ended this way may have taken effect or may be sent again
// for the same logical change: its requestId is kept for that resend.
bool KeepsRequestId(StatusCode code);

// What every pass's observer writes to; owned by the controller, which
// outlives its passes.
struct PassLedger {
  Journal* journal = nullptr;  // may be null (tests)
  Metrics* metrics = nullptr;  // may be null (tests)
  std::shared_ptr<reconcilers::RequestIds> request_ids;
  // Steps whose journal record failed and that have not finished yet: the
  // write fence refuses every write while this is above zero.
  int* unjournaled = nullptr;
  int64_t* total_writes = nullptr;  // mutations sent since start
  const bool* stopping = nullptr;   // the controller is shutting down
};

// Journals and counts the writes of one pass. Lives in the Reconcile frame,
// which outlives the Apply call it is handed to.
class PassObserver : public reconcilers::MutationObserver {
 public:
  PassObserver(PassLedger ledger, std::string intent, int64_t generation, std::string rid)
      : l_(std::move(ledger)),
        intent_(std::move(intent)),
        generation_(generation),
        rid_(std::move(rid)) {}
  ~PassObserver() override;

  void RequestIdAssigned(const reconcilers::Step& step, const std::string& request_id) override;
  void BeforeMutation(const reconcilers::Step& step, const std::string& prior_json) override;
  void OperationStarted(const reconcilers::Step& step, const gcp::Operation& op) override;
  void Finished(const reconcilers::Step& step, const Status& status) override;

  int writes = 0;
  std::vector<std::pair<std::string, std::string>> corrections;  // (metric kind, path)

 private:
  struct Pending {
    std::string journal_id;
    bool operation_started = false;
    bool unjournaled = false;  // its journal record failed: must not be sent
    std::string request_key;   // Compute inserts (RequestIdAssigned)
    std::string request_id;
  };
  PassLedger l_;
  std::string intent_;
  int64_t generation_;
  std::string rid_;
  std::map<std::string, Pending> pending_;
};

// The metrics of a finished pass of `key`: its result per metric kind of
// `resources` (those it covered), the drift its first plan found,
// world-open findings and the nearest authorized-network expiry.
void ReportPass(Metrics& metrics, const std::string& key, const config::Intent& intent,
                const reconcilers::ApplyResult& result, reconcilers::ConditionReason reason,
                const std::vector<ResourceKey>& resources, double seconds);

}  // namespace dbconnd::controller
