#pragma once
// Run-time prerequisites: what otherwise fails only when the workload runs.
// Read-only and best effort, checked before the workload is patched:
//   - the declared secret version exists and is ENABLED (versions.get,
//     metadata only; never versions.access);
//   - the workload's service account may read it (roles/secretmanager.
//     secretAccessor or a role holding it, on the secret or the project);
//   - for cloudSqlSocket, roles/cloudsql.client (or a role holding
//     cloudsql.instances.connect) on the project.
// Each failure becomes a diagnosis with its fix; a check dbconnd lacks the
// permission to make becomes an "unknown" diagnosis. Role names are matched,
// so a custom role is not evaluated: a missing binding is reported as "no
// binding found", a lower bound.

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "gcp/api.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

// Answers kept from earlier reads (the controller's cache, see
// ObservationCacheOptions::prerequisites_max_age). Each lookup hands back a
// kept answer now, or nothing: read it.
class PrerequisiteMemo {
 public:
  virtual ~PrerequisiteMemo() = default;
  // By "projects/P/secrets/S/versions/V".
  virtual std::optional<StatusOr<gcp::SecretVersionInfo>> KeptVersion(const std::string& name) = 0;
  // By "projects/P/secrets/S".
  virtual std::optional<StatusOr<gcp::IamPolicy>> KeptSecretPolicy(const std::string& secret) = 0;
  virtual std::optional<StatusOr<gcp::IamPolicy>> KeptProjectPolicy(const std::string& project) = 0;
};

// The reads, for one intent (not owned; must outlive the coroutine). Needs
// clients.secrets and clients.resource_manager. An answer `memo` (may be
// null) keeps is taken from it; the others are read, all at once.
gcp::Task<PrerequisiteFacts> GatherPrerequisites(gcp::Clients clients, const config::Intent* intent,
                                                 PrerequisiteMemo* memo = nullptr);

// Pure: the diagnoses for `live.prerequisites` (none when absent).
std::vector<Diagnosis> DiagnosePrerequisites(const config::Intent& intent, const LiveState& live);

}  // namespace dbconnd::reconcilers
