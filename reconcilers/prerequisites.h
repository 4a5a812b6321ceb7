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

#include <vector>

#include "config/model.h"
#include "gcp/api.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

// The reads, for one intent. Needs clients.secrets and clients.resource_manager.
gcp::Task<PrerequisiteFacts> GatherPrerequisites(gcp::Clients clients, config::Intent intent);

// Pure: the diagnoses for `live.prerequisites` (none when absent).
std::vector<Diagnosis> DiagnosePrerequisites(const config::Intent& intent, const LiveState& live);

}  // namespace dbconnd::reconcilers
