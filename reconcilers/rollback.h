#pragma once
// Rollback as a plan. The journal's prior values are the desired state for
// exactly the fields dbconnd changed; everything else keeps its live value.
// The plan is executed by reconcilers::Apply (ApplyOptions::planner and
// ::observe), so a rollback write gets what every write gets: the instance
// gate, the write fence, the journal, 409/412 re-plans and re-observation
// after an unknown outcome. Re-planned after its write, a rollback has
// nothing left to do; a second rollback plans no step at all.
//
// What can be restored is what a journal holds exactly: Cloud SQL instance
// settings (ipv4Enabled, sslMode, authorized networks, database flags,
// connectorEnforcement, where "unset" comes back as NOT_REQUIRED, the
// behaviour it had), in one PATCH, so re-opening the old public path and restoring the rest land
// together. A private network and its allocated range cannot be undone (Cloud
// SQL keeps a private network once set): they are listed as kept.

#include <map>
#include <string>
#include <vector>

#include "config/model.h"
#include "gcp/api.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

// The name a rollback plan and its journal entries carry as their intent.
inline constexpr char kRollbackIntent[] = "rollback";

struct RollbackTarget {
  std::string project;
  std::string instance;
  // Change path (diff.h) -> the prior value as the journal holds it: the
  // typed value's JSON (a string value without its quotes, see
  // MutationObserver::BeforeMutation), or in journals written before values
  // were typed, the change's display string. When several writes changed a
  // path, the caller keeps the oldest prior value.
  std::map<std::string, std::string> prior;
};

// The intent Apply runs a rollback plan under: names the project and the
// instance, declares nothing else.
config::Intent RollbackIntent(const RollbackTarget& target);

// One update step on the instance (absent when live already holds every
// prior value), whose payload is the PATCH from live to the prior values
// (settingsVersion = live's). Paths that cannot be restored are listed in
// plan.notes (code "rollback-kept"), never guessed. report_only marks the
// plan and its step (the preview).
Plan ComputeRollbackPlan(const RollbackTarget& target, const LiveState& live, bool report_only);

// The observation a rollback needs: instances.get of the intent's instance.
// NOT_FOUND is an error (there is nothing to restore onto).
gcp::Task<StatusOr<LiveState>> ObserveInstance(gcp::Clients clients, config::Intent intent);

}  // namespace dbconnd::reconcilers
