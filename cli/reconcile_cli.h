#pragma once
// What `plan`, `apply` and `demo` share: loading intent files for a command,
// running a coroutine to completion on the command's io_context, planning
// and applying every intent with live progress.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/loader.h"
#include "cli/plan_output.h"
#include "gcp/api.h"
#include "reconcilers/executor.h"

namespace dbconnd::cli {

// Loads like `validate`; on errors prints them compiler-style to `err`
// followed by a line saying to run `dbconnd validate`, and returns null.
std::shared_ptr<const config::DesiredState> LoadForCommand(const std::vector<std::string>& paths,
                                                           std::ostream& err);

namespace internal {
// Keeps T out of co_spawn's completion signature (which needs a default
// constructible T in Boost 1.81). `out` outlives the coroutine.
template <typename T>
boost::asio::awaitable<void> StoreResult(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}
}  // namespace internal

// Runs `task` on `io` (on this thread) until it finishes, even while other
// work such as an in-process emulator keeps the io_context busy.
template <typename T>
T RunToCompletion(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, internal::StoreResult(std::move(task), &result),
                        [&error, &done](std::exception_ptr e) {
                          error = e;
                          done = true;
                        });
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  if (error) std::rethrow_exception(error);
  if (!done || !result) std::terminate();  // the io_context ran dry: a lost completion is a bug
  return std::move(*result);
}

// Observes and plans every intent, a few at a time, from one shared
// point-in-time read (reconcilers::ObservationCache); results keep the
// order of `state.intents`.
std::vector<IntentPlan> PlanIntents(boost::asio::io_context& io, gcp::Clients clients,
                                    const config::DesiredState& state);

// Terraform's -detailed-exitcode: 1 when any intent failed, else 2 when any
// has changes, else 0.
int PlanExitCode(const std::vector<IntentPlan>& plans);

struct ApplyCliOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  gcp::WaitOptions wait;                 // poll intervals
  std::chrono::milliseconds idle_poll{std::chrono::seconds(5)};
  std::shared_ptr<reconcilers::InstanceOperationGate> gate;
  reconcilers::MutationObserver* observer = nullptr;
};

struct IntentApply {
  std::string name;
  reconcilers::ApplyResult result;
};

// Applies each intent to convergence, printing progress to `out`. Returns
// the results; ApplyExitCode turns them into the exit code after printing a
// summary.
std::vector<IntentApply> ApplyIntents(boost::asio::io_context& io, gcp::Clients clients,
                                      const config::DesiredState& state,
                                      const ApplyCliOptions& options, std::ostream& out,
                                      TextStyle style);
// Prints what was done, what is left and why; 0 when every intent converged
// (or is report-only), 1 otherwise.
int ReportApply(const std::vector<IntentApply>& applied, std::ostream& out, TextStyle style);

}  // namespace dbconnd::cli
