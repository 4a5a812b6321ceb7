#pragma once
// Intent status: what /status (and `dbconnd status`) shows for each intent.
// Held compact — 10,000 intents are held at once — and spelled out as
// IntentStatus only when asked for. A pass is written into the record by
// RecordPass from its reconcilers::Assessment.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.h"
#include "reconcilers/assess.h"
#include "reconcilers/executor.h"
#include "reconcilers/plan.h"

namespace dbconnd::controller {

// /status text fields quote values from Google: masked and capped.
inline constexpr std::size_t kStatusTextCap = 2000;

struct Condition {
  std::string type;    // "Ready" | "Synced"
  std::string status;  // "True" | "False" | "Unknown"
  std::string reason;  // UpToDate, Updating, UpdateFailed, DependencyNotReady,
                       // DriftFight, Observing, Paused, ConfigInvalid
  std::string message;
  std::string last_transition;  // RFC 3339
};

struct ResourceStatus {
  std::string kind;  // reconcilers::ToString(ResourceKind)
  std::string name;
  Condition ready{"Ready", "Unknown", "", "", ""};
  Condition synced{"Synced", "Unknown", "", "", ""};
};

struct IntentStatus {
  std::string name;
  std::string mode;  // "enforce" | "observe"
  int64_t observed_generation = 0;
  Condition ready{"Ready", "Unknown", "", "", ""};
  Condition synced{"Synced", "Unknown", "", "", ""};
  reconcilers::Summary last_plan;
  std::vector<std::string> last_plan_steps;  // "update instance/x: path: a -> b"
  std::string last_error;
  std::string last_reconcile;  // RFC 3339
  std::string next_resync;     // RFC 3339
  int64_t writes = 0;          // mutations sent by this process
  std::vector<ResourceStatus> resources;
  // The last plan's diagnoses (run-time prerequisites among them), as
  // `dbconnd plan` shows them.
  std::vector<reconcilers::Diagnosis> diagnoses;
};

// One intent's /status object, serialized.
std::string IntentStatusText(const IntentStatus& s);
boost::json::object ConditionJson(const Condition& c);

using WallClock = std::chrono::system_clock;
using reconcilers::ConditionReason;

// Ready and Synced, which the controller always sets together: True when
// UpToDate, False for any other reason, Unknown before the first pass.
struct CompactCondition {
  ConditionReason reason = ConditionReason::kUnknown;
  WallClock::time_point since{};  // last transition; epoch = never

  void Set(ConditionReason r, WallClock::time_point now) {
    if (r != reason) since = now;  // status follows reason
    reason = r;
  }
};

struct ResourceKey {
  reconcilers::ResourceKind kind;
  std::string name;
  bool operator<(const ResourceKey& o) const {
    return std::tie(kind, name) < std::tie(o.kind, o.name);
  }
  bool operator==(const ResourceKey& o) const { return kind == o.kind && name == o.name; }
};

// The resources an intent declares, in a fixed order.
std::vector<ResourceKey> DeclaredResources(const config::Intent& in);

// One resource's conditions in 16 bytes, where ResourceStatus' strings take
// ~400 (it is built only when status is asked for). Its name is not kept:
// the records follow DeclaredResources(intent) in order, then the
// plan-only resources named in IntentRecord::Details::extras. Messages,
// rare, are kept apart too (Details::resource_messages).
struct CompactResource {
  reconcilers::ResourceKind kind;
  CompactCondition condition;
};

// Records for `keys`, each carrying the condition its resource had in `old`
// (named by `old_keys`); a new resource starts Unknown.
std::vector<CompactResource> CarryRecords(const std::vector<ResourceKey>& keys,
                                          const std::vector<ResourceKey>& old_keys,
                                          const std::vector<CompactResource>& old);

// "update instance/x; path: a -> b (blocked: ...)"
std::string StepLine(const reconcilers::Step& s);

// The status of one intent, compact.
struct IntentRecord {
  // Shared with the generation's DesiredState: an intent whose file did not
  // change is the same object from one generation to the next.
  std::shared_ptr<const config::Intent> intent;
  int64_t observed_generation = 0;
  CompactCondition condition;
  reconcilers::Summary last_plan;
  WallClock::time_point last_reconcile{};
  WallClock::time_point next_resync{};
  int64_t writes = 0;
  std::vector<CompactResource> resources;  // exactly sized

  // What an intent that is up to date has none of: held only when set.
  struct Details {
    std::string message;                       // of `condition`
    std::vector<std::string> last_plan_steps;  // "update instance/x: path: a -> b"
    std::string last_error;
    // (index into resources, message) for the resources that have one.
    std::vector<std::pair<std::size_t, std::string>> resource_messages;
    std::map<std::string, reconcilers::JobVerification> verifications;
    // Resources the last plan named that the intent does not declare.
    std::vector<ResourceKey> extras;
    std::vector<reconcilers::Diagnosis> diagnoses;  // the last plan's
    bool empty() const {
      return message.empty() && last_plan_steps.empty() && last_error.empty() &&
             resource_messages.empty() && verifications.empty() && extras.empty() &&
             diagnoses.empty();
    }
  };
  std::unique_ptr<Details> details;
  const Details& View() const {
    static const Details kNone;
    return details ? *details : kNone;
  }

  // The names of `resources`, in order.
  std::vector<ResourceKey> RecordKeys() const;
  const std::string& ResourceMessage(std::size_t i) const;
  IntentStatus Expand(const std::string& name) const;
};

// The intent condition's message after a pass: the error, the reason writes
// were held back, or what blocks a step. `tripped_field` names the field of
// an open fight breaker.
std::string IntentMessage(const reconcilers::Assessment& a, const reconcilers::ApplyResult& result,
                          const std::string& last_error, std::string_view tripped_field);

// Writes a finished pass into `rec`: plan summary and steps, error,
// diagnoses (each new one logged once under `key`), the conditions of the
// resources and of the intent. `intent` is the configuration the pass ran
// with: when `rec` already follows another list of declared resources (an
// edit landed during the pass; the pass it queued fills them) the resource
// records are left alone. Returns the resources the pass covered.
std::vector<ResourceKey> RecordPass(IntentRecord& rec, const std::string& key,
                                    const config::Intent& intent,
                                    const reconcilers::ApplyResult& result,
                                    const reconcilers::Assessment& assessment,
                                    std::string_view tripped_field, WallClock::time_point now);

}  // namespace dbconnd::controller
