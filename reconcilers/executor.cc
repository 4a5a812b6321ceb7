#include "reconcilers/executor.h"

#include <optional>
#include <utility>
#include <variant>

#include "reconcilers/planner.h"

namespace dbconnd::reconcilers {
namespace {

bool IsConflict(const Status& s) {
  // Cloud SQL: 409 operationInProgress (a 2018 report shows it under 403, so
  // match the reason too) and 412 staleData.
  return s.http_status() == 409 || s.http_status() == 412 ||
         s.reason() == "operationInProgress" || s.reason() == "staleData";
}

bool IsOperationInProgress(const Status& s) {
  return s.reason() == "operationInProgress" ||
         (s.http_status() == 409 && s.reason() != "staleData");
}

// What executing one step produced.
struct StepOutcome {
  Status status;
  bool wrote = false;  // the mutation was accepted and its operation finished
  std::optional<JobVerification> verification;
};

gcp::Task<Status> Wait(gcp::Clients clients, StatusOr<gcp::Operation> op,
                       gcp::WaitOptions options) {
  if (!op.ok()) co_return op.status();
  auto done = co_await gcp::WaitForOperation(clients, *op, options);
  if (!done.ok()) co_return done.status();
  co_return done->error;
}

// Waits for whatever operation is running on the instance (after a 409), so
// the next attempt is not refused again.
gcp::Task<Status> WaitForRunningSqlOperation(gcp::Clients clients, std::string project,
                                             std::string instance, gcp::WaitOptions options) {
  auto ops = co_await clients.sql->ListOperations(project, instance);
  if (!ops.ok()) co_return ops.status();
  for (const auto& op : *ops) {
    if (op.done) continue;
    gcp::Operation running = op;
    if (running.project.empty()) running.project = project;
    auto done = co_await gcp::WaitForOperation(clients, running, options);
    if (!done.ok()) co_return done.status();
  }
  co_return OkStatus();
}

gcp::Task<StepOutcome> Verify(gcp::Clients clients, config::Intent intent, std::string job,
                              gcp::WaitOptions options) {
  StepOutcome out;
  auto op = co_await clients.run->RunJob(intent.project, intent.region, job);
  if (!op.ok()) {
    out.status = op.status();
    co_return out;
  }
  auto done = co_await gcp::WaitForOperation(clients, *op, options);
  if (!done.ok()) {
    out.status = done.status();
    co_return out;
  }
  out.wrote = true;
  JobVerification v;
  v.state = JobVerification::State::kFailed;
  if (!done->error.ok()) {
    v.message = done->error.message();
    out.verification = v;
    co_return out;
  }
  auto live_job = co_await clients.run->GetJob(intent.project, intent.region, job);
  if (!live_job.ok() || live_job->latest_execution.empty()) {
    v.message = live_job.ok() ? "no execution recorded" : live_job.status().message();
    out.verification = v;
    co_return out;
  }
  auto exec = co_await clients.run->GetExecution(live_job->latest_execution);
  if (!exec.ok()) {
    v.message = exec.status().message();
  } else if (exec->done && exec->succeeded) {
    v.state = JobVerification::State::kSucceeded;
    v.message = exec->message;
  } else {
    v.message = exec->message.empty() ? "execution did not succeed" : exec->message;
  }
  out.verification = v;
  co_return out;
}

gcp::Task<StepOutcome> Execute(gcp::Clients clients, config::Intent intent, Step step,
                               gcp::WaitOptions options) {
  StepOutcome out;
  if (step.action == Action::kRun) {
    co_return co_await Verify(clients, intent, step.resource.name, options);
  }
  if (auto* address = std::get_if<gcp::GlobalAddress>(&step.payload)) {
    out.status = co_await Wait(clients, co_await clients.compute->InsertGlobalAddress(*address),
                               options);
  } else if (auto* peering = std::get_if<gcp::PeeringConnection>(&step.payload)) {
    if (step.action != Action::kCreate) {
      // Adding a range to an existing connection is a connections.patch
      // (updateMask reservedPeeringRanges), which gcp::ServiceNetworking
      // does not offer yet.
      out.status = UnimplementedError("adding a range to Service Networking connection on " +
                                      peering->network + " is not supported yet");
      co_return out;
    }
    out.status = co_await Wait(clients, co_await clients.networking->CreateConnection(*peering),
                               options);
  } else if (auto* connector = std::get_if<gcp::Connector>(&step.payload)) {
    if (step.action == Action::kReplace) {
      out.status = co_await Wait(
          clients,
          co_await clients.vpc->DeleteConnector(connector->project, connector->region,
                                                connector->name),
          options);
      if (!out.status.ok()) co_return out;
    }
    out.status = co_await Wait(clients, co_await clients.vpc->CreateConnector(*connector), options);
  } else if (auto* patch = std::get_if<gcp::SqlInstancePatch>(&step.payload)) {
    out.status = co_await Wait(
        clients, co_await clients.sql->PatchInstance(intent.project, step.resource.name, *patch),
        options);
  } else if (auto* workload = std::get_if<gcp::RunWorkload>(&step.payload)) {
    if (workload->kind == gcp::RunKind::kJob) {
      out.status = co_await Wait(clients, co_await clients.run->PatchJob(*workload), options);
    } else {
      out.status = co_await Wait(clients, co_await clients.run->PatchService(*workload), options);
    }
  } else {
    out.status = InternalError("step " + step.id + " has nothing to send");
    co_return out;
  }
  out.wrote = out.status.ok();
  co_return out;
}

}  // namespace

gcp::Task<StatusOr<LiveState>> Observe(gcp::Clients clients, config::Intent intent) {
  LiveState live;
  auto instances = co_await clients.sql->ListInstances(intent.project);
  if (!instances.ok()) co_return instances.status();
  for (auto& i : *instances) {
    if (i.name == intent.instance.name) live.instance = std::move(i);
  }
  if (intent.connector) {
    auto connectors = co_await clients.vpc->ListConnectors(intent.project, intent.region);
    if (!connectors.ok()) co_return connectors.status();
    for (auto& c : *connectors) {
      if (c.name == intent.connector->name) live.connector = std::move(c);
    }
  }
  // Every job and service of the region, not only declared ones: the planner
  // refuses to switch the public IP off while an undeclared one still uses it.
  auto jobs = co_await clients.run->ListJobs(intent.project, intent.region);
  if (!jobs.ok()) co_return jobs.status();
  for (auto& j : *jobs) live.jobs.emplace(j.name, std::move(j));
  auto services = co_await clients.run->ListServices(intent.project, intent.region);
  if (!services.ok()) co_return services.status();
  for (auto& s : *services) live.services.emplace(s.name, std::move(s));

  if (intent.instance.private_ip && !intent.project_number.empty()) {
    const auto& pip = *intent.instance.private_ip;
    auto peerings = co_await clients.networking->ListConnections(
        "projects/" + intent.project_number + "/global/networks/" + pip.network);
    if (!peerings.ok()) co_return peerings.status();
    live.peerings = std::move(*peerings);
    auto range = co_await clients.compute->GetGlobalAddress(intent.project, ServicesRangeName(pip));
    if (range.ok()) {
      live.services_range = std::move(*range);
    } else if (range.status().code() != StatusCode::kNotFound) {
      co_return range.status();
    }
  }
  co_return live;
}

gcp::Task<ApplyResult> Apply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                             std::map<std::string, JobVerification> verifications) {
  ApplyResult result;
  result.verifications = std::move(verifications);
  if (!options.sleeper) options.sleeper = gcp::AsioSleeper();
  int conflicts = 0;
  int idle_polls = 0;
  for (int round = 0; round < options.max_rounds; ++round) {
    auto live = co_await Observe(clients, intent);
    if (!live.ok()) {
      result.status = live.status();
      co_return result;
    }
    live->verifications = result.verifications;
    result.last_plan = ComputePlan(intent, *live);
    result.converged = result.last_plan.steps.empty();
    if (result.last_plan.report_only) co_return result;

    const Step* ready = FirstReadyStep(result.last_plan);
    if (!ready) {
      if (result.last_plan.summary().waiting > 0 && idle_polls < options.max_idle_polls) {
        ++idle_polls;
        Status slept = co_await options.sleeper(options.idle_poll);
        if (!slept.ok()) {
          result.status = slept;
          co_return result;
        }
        continue;
      }
      co_return result;  // converged, or only blocked steps left
    }
    idle_polls = 0;
    Step step = *ready;
    if (options.on_step) options.on_step(step);
    StepOutcome outcome = co_await Execute(clients, intent, step, options.wait);
    if (!outcome.status.ok()) {
      if (IsConflict(outcome.status) && ++conflicts <= options.max_conflicts) {
        // Nothing was applied. 409: let the running operation finish; 412:
        // the re-observation below picks up the new settingsVersion.
        if (IsOperationInProgress(outcome.status) && step.resource.kind == ResourceKind::kInstance) {
          Status waited = co_await WaitForRunningSqlOperation(clients, intent.project,
                                                              step.resource.name, options.wait);
          if (!waited.ok()) {
            result.status = waited;
            co_return result;
          }
        }
        continue;
      }
      result.status = std::move(outcome.status).Annotate("step " + step.id);
      co_return result;
    }
    conflicts = 0;
    result.executed.push_back(step.id);
    if (outcome.verification) result.verifications[step.resource.name] = *outcome.verification;
    if (step.resource.kind == ResourceKind::kJob && step.action == Action::kUpdate &&
        intent.policy.verify) {
      result.verifications[step.resource.name] = {JobVerification::State::kPending, ""};
    }
  }
  result.status = AbortedError("apply did not converge within " +
                               std::to_string(options.max_rounds) + " rounds");
  co_return result;
}

}  // namespace dbconnd::reconcilers
