#pragma once
// spec.projectNumber is optional: Service Networking names networks by
// project number, and Resource Manager's projects.get tells it, as Google's
// own tools look it up. A number written in the file is checked against the
// one Google reports.

#include <string>

#include "common/status.h"
#include "config/model.h"
#include "gcp/api.h"

namespace dbconnd::reconcilers {

// Returns `intent` with project_number filled in from Resource Manager v3
// projects.get when the file leaves it out and the intent needs it (private
// IP), and checks a declared one:
// - left out and needed: the number Google reports; when it cannot be read,
//   that error, saying to write spec.projectNumber;
// - declared and Google reports another: FAILED_PRECONDITION naming both;
// - declared and Google cannot be asked (no client, no permission): the
//   intent unchanged (unchecked, never a guess).
// Answers are remembered per project for the life of the process (a
// project's number never changes), so a converged pass costs no read.
gcp::Task<StatusOr<config::Intent>> ResolveProjectNumber(gcp::Clients clients, config::Intent intent);

// For tests: forgets the remembered numbers.
void ForgetProjectNumbers();

}  // namespace dbconnd::reconcilers
