#include "reconcilers/project_number.h"

#include <map>
#include <mutex>
#include <utility>

#include "common/redact.h"

namespace dbconnd::reconcilers {
namespace {

// project ID -> number. Guarded: commands and tests may run passes on
// several io_context threads.
std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::string>& Known() {
  static std::map<std::string, std::string> known;
  return known;
}

std::string Remembered(const std::string& project) {
  std::lock_guard lock(Mu());
  auto it = Known().find(project);
  return it == Known().end() ? std::string() : it->second;
}

}  // namespace

void ForgetProjectNumbers() {
  std::lock_guard lock(Mu());
  Known().clear();
}

gcp::Task<StatusOr<config::Intent>> ResolveProjectNumber(gcp::Clients clients, config::Intent intent) {
  const bool needed = intent.instance.private_ip.has_value();
  const bool declared = !intent.project_number.empty();
  if (!needed && !declared) co_return std::move(intent);
  std::string google = Remembered(intent.project);
  if (google.empty() && clients.resource_manager) {
    auto got = co_await clients.resource_manager->GetProject(intent.project);
    if (got.ok() && !got->project_number.empty()) {
      google = got->project_number;
      std::lock_guard lock(Mu());
      Known()[intent.project] = google;
    } else if (!declared) {
      Status why = got.ok() ? InternalError("projects.get returned no number") : got.status();
      co_return Status(why).Annotate(
          "spec.projectNumber is not set and Resource Manager projects.get " + intent.project +
          " did not tell it (Service Networking names networks by project number); grant "
          "resourcemanager.projects.get or write spec.projectNumber (gcloud projects describe " +
          intent.project + " --format='value(projectNumber)')");
    }
  }
  if (!declared) {
    if (google.empty()) {
      co_return FailedPreconditionError(
          "spec.projectNumber is not set and no Resource Manager client is configured to look it up; "
          "write spec.projectNumber (gcloud projects describe " + intent.project +
          " --format='value(projectNumber)')");
    }
    intent.project_number = google;
    co_return std::move(intent);
  }
  if (!google.empty() && google != intent.project_number) {
    co_return FailedPreconditionError("spec.projectNumber " + intent.project_number +
                                      (intent.name.empty() ? std::string() : " of intent " + intent.name) +
                                      " does not match project " + intent.project + ", whose number is " +
                                      google + " (Resource Manager projects.get); fix spec.projectNumber "
                                      "or remove it to have it looked up");
  }
  co_return std::move(intent);
}

}  // namespace dbconnd::reconcilers
