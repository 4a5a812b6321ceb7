// `dbconnd rollback --last | --to-generation N [--yes]`: puts back the prior
// values the journal recorded before dbconnd's own writes.
//
// Rollback is a plan (reconcilers/rollback.h): the journal's prior values are
// the desired state for exactly the fields dbconnd changed, planned against
// the live instance and executed by reconcilers::Apply like any other plan:
// one PATCH per instance (the old public path re-opened in the same PATCH
// that restores the rest, so no client loses its path), through the instance
// gate, the write fence and the journal, waiting out a 409, re-reading after
// a 412 or a lost answer. What cannot be undone is listed and left alone: a
// private network (irreversible in Cloud SQL), created connectors, ranges
// and peerings (harmless to keep), and workload env values (the journal
// never holds the secrets an old DATABASE_URL carried).
//
// Without --yes it only prints the plan (exit 2 when there is something to
// restore, 0 when live state already holds the prior values). A running
// daemon would write its desired state back, so --yes takes the journal's
// exclusive lock, which `dbconnd run` holds while it runs, and refuses
// without it.

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>

#include "cli/cli.h"
#include "cli/gcp_setup.h"
#include "controller/journal.h"
#include "cli/reconcile_cli.h"
#include "gcp/write_fence.h"
#include "reconcilers/executor.h"
#include "reconcilers/rollback.h"

namespace dbconnd::cli {
using controller::Journal;
using controller::JournalChange;
using controller::JournalEntry;
namespace asio = boost::asio;
namespace {

using reconcilers::RollbackTarget;

struct RollbackOptions {
  std::string state_dir = "/var/lib/dbconnd";
  bool last = false;
  int64_t to_generation = -1;
  bool yes = false;
  GcpFlags gcp;
};

void RollbackFlags(CLI::App& cmd, RollbackOptions& o) {
  cmd.add_option("--state-dir", o.state_dir, "The daemon's --state-dir")->capture_default_str();
  cmd.add_flag("--last", o.last, "Undo the writes of the newest journaled generation");
  cmd.add_option("--to-generation", o.to_generation,
                 "Undo every write made for generations after N");
  cmd.add_flag("--yes", o.yes, "Apply; without it only the preview is shown");
  AddGcpFlags(cmd, o.gcp);
}

struct Selection {
  std::map<std::string, RollbackTarget> instances;  // by project/instance
  std::vector<std::string> skipped;                 // "why" lines
  int entries = 0;
};

// The finished, successful writes of dbconnd itself in the range (rollback's
// own writes are never rolled back by a later rollback).
Selection Select(const std::vector<JournalEntry>& entries, const RollbackOptions& opts) {
  Selection sel;
  auto counts = [](const JournalEntry& e) {
    return e.finished && e.outcome_code == "OK" && e.intent != reconcilers::kRollbackIntent;
  };
  int64_t newest = 0;
  for (const auto& e : entries) {
    if (counts(e)) newest = std::max(newest, e.generation);
  }
  int64_t from = opts.last ? newest : opts.to_generation + 1;
  // Newest first, so the oldest prior value in the range wins.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const JournalEntry& e = *it;
    if (!counts(e) || e.generation < from) continue;
    if (opts.last && e.generation != newest) continue;
    ++sel.entries;
    if (e.kind != reconcilers::ToString(reconcilers::ResourceKind::kInstance) || !e.has_operation) {
      sel.skipped.push_back(e.step + ": " + e.action + " of a " + e.kind +
                            " is not rolled back (created resources are kept; workload env "
                            "values held secrets the journal never stores)");
      continue;
    }
    RollbackTarget& t = sel.instances[e.operation.project + "/" + e.name];
    t.project = e.operation.project;
    t.instance = e.name;
    for (const auto& [path, before] : e.prior) t.prior[path] = before;
  }
  return sel;
}

// Journals rollback's writes like the daemon journals its own (intent
// "rollback", generation 0), failing closed: while a write's record could
// not be written, the fence refuses it.
class RollbackJournal : public reconcilers::MutationObserver {
 public:
  RollbackJournal(Journal* journal, std::ostream* err) : journal_(journal), err_(err) {}

  void BeforeMutation(const reconcilers::Step& step, const std::string& prior_json) override {
    std::vector<JournalChange> changes;
    for (const auto& c : step.changes) changes.push_back({c.path, c.before, c.after});
    auto id = journal_->Begin(0, reconcilers::kRollbackIntent, step.id,
                              std::string(reconcilers::ToString(step.resource.kind)),
                              step.resource.name, std::string(reconcilers::ToString(step.action)),
                              prior_json, changes);
    if (id.ok()) {
      ids_[step.id] = *id;
      ++writes_;
    } else {
      unjournaled_.insert(step.id);
      *err_ << "error: journal: " << id.status().message() << "; not sending " << step.id << "\n";
    }
  }
  void OperationStarted(const reconcilers::Step& step, const gcp::Operation& op) override {
    auto it = ids_.find(step.id);
    if (it == ids_.end()) return;
    if (Status s = journal_->RecordOperation(it->second, op); !s.ok()) {
      *err_ << "warning: journal: " << s.message() << "\n";
    }
  }
  void Finished(const reconcilers::Step& step, const Status& status) override {
    unjournaled_.erase(step.id);
    auto it = ids_.find(step.id);
    if (it == ids_.end()) return;
    if (Status s = journal_->RecordOutcome(it->second, status); !s.ok()) {
      *err_ << "warning: journal: " << s.message() << "\n";
    }
    ids_.erase(it);
  }
  // The fence's gate: no write while one could not be journaled.
  Status MayWrite() const {
    if (unjournaled_.empty()) return Status();
    return FailedPreconditionError("the journal could not record a pending write (fail closed)");
  }
  int writes() const { return writes_; }

 private:
  Journal* journal_;
  std::ostream* err_;
  std::map<std::string, std::string> ids_;
  std::set<std::string> unjournaled_;
  int writes_ = 0;
};

void PrintPlan(const RollbackTarget& t, const reconcilers::Plan& plan, std::ostream& out) {
  out << "~ instance/" << t.instance << " (project " << t.project << ")\n";
  for (const auto& s : plan.steps) {
    for (const auto& c : s.changes) {
      out << "    " << c.path << ": " << reconcilers::ShownValue(c.before) << " -> "
          << reconcilers::ShownValue(c.after) << "  [" << reconcilers::ToString(c.impact)
          << "]\n";
    }
  }
  for (const auto& d : plan.diagnoses) out << "    ! " << d.problem << "\n";
  if (plan.steps.empty() && plan.diagnoses.empty()) {
    out << "    already at the journaled prior values\n";
  }
  for (const auto& n : plan.notes) out << "    (kept) " << n.problem << "\n";
}

// Plans (and with --yes applies) each instance's rollback with
// reconcilers::Apply. Returns the exit code.
int RunRollback(const RollbackOptions& opts, const Selection& sel, Journal* journal,
                CommandContext& ctx) {
  asio::io_context io;
  std::unique_ptr<RollbackJournal> observer;
  GcpSetupOptions setup;
  std::shared_ptr<gcp::WriteFence> fence;
  if (opts.yes) {
    observer = std::make_unique<RollbackJournal>(journal, ctx.err);
    // The same last-moment fence the daemon's writes pass: no lease here
    // (the journal lock keeps the daemon out), but the journal gate.
    fence = std::make_shared<gcp::WriteFence>();
    RollbackJournal* o = observer.get();
    fence->SetGate([o] { return o->MayWrite(); });
    setup.rest.write_fence = fence;
  }
  auto access = SetUpGcpForCommand(io.get_executor(), opts.gcp, *ctx.err, setup);
  if (!access) return kExitFailure;
  int pending = 0;
  int code = kExitOk;
  for (const auto& [key, target] : sel.instances) {
    reconcilers::ApplyOptions ao;
    const bool preview = !opts.yes;
    RollbackTarget t = target;
    ao.planner = [t, preview](const config::Intent&, const reconcilers::LiveState& live) {
      return reconcilers::ComputeRollbackPlan(t, live, preview);
    };
    ao.observe = &reconcilers::ObserveInstance;
    if (observer) {
      ao.observer = observer.get();
      RollbackJournal* o = observer.get();
      ao.may_write = [o] { return o->MayWrite(); };
    }
    reconcilers::ApplyResult r = RunToCompletion(
        io, reconcilers::Apply(access->clients(), reconcilers::RollbackIntent(t), ao));
    PrintPlan(t, r.first_plan, *ctx.out);
    if (r.first_plan.intent.empty() || !r.status.ok()) {
      *ctx.err << "error: instance " << t.instance << ": " << r.status.message() << "\n";
      code = kExitFailure;
      break;
    }
    if (!r.first_plan.diagnoses.empty()) {
      code = kExitFailure;
      continue;
    }
    if (!r.first_plan.steps.empty()) ++pending;
    if (opts.yes && !r.first_plan.steps.empty()) {
      if (!r.converged) {
        *ctx.err << "error: instance " << t.instance << " still differs from the journaled prior "
                 << "values after the rollback\n";
        code = kExitFailure;
        break;
      }
      *ctx.out << "    restored\n";
    }
  }
  for (const auto& s : sel.skipped) *ctx.out << "  (kept) " << s << "\n";
  if (code == kExitOk && pending > 0 && !opts.yes) {
    *ctx.out << "\n" << pending << " instance(s) to restore. Run again with --yes to apply.\n"
             << "Note: a running `dbconnd run` writes the desired state back unless the intent is "
                "paused (policy.paused) or its file changes.\n";
    code = 2;
  }
  if (code == kExitOk && pending == 0) {
    *ctx.out << "Nothing to roll back: live state already holds the journaled prior values.\n";
  }
  return code;
}

int Rollback(const RollbackOptions& opts, CommandContext& ctx) {
  if (opts.last == (opts.to_generation >= 0)) {
    *ctx.err << "error: give exactly one of --last or --to-generation N\n";
    return kExitUsage;
  }
  std::vector<std::string> warnings;
  auto entries = Journal::ReadFile(opts.state_dir + "/journal.jsonl", &warnings);
  if (!entries.ok()) {
    *ctx.err << "error: " << entries.status().message() << "\n";
    return kExitFailure;
  }
  for (const auto& w : warnings) *ctx.err << "warning: " << w << "\n";
  Selection sel = Select(*entries, opts);
  if (sel.entries == 0) {
    *ctx.out << "Nothing to roll back: the journal has no finished writes "
             << (opts.last ? "" : "after generation " + std::to_string(opts.to_generation)) << "\n";
    return kExitOk;
  }
  std::unique_ptr<Journal> journal;
  if (opts.yes) {
    // Writes are journaled like the daemon's, and never while a daemon
    // writes too: the daemon holds this lock for as long as it runs.
    auto j = Journal::Open(opts.state_dir);
    if (!j.ok()) {
      *ctx.err << "error: --state-dir: " << j.status().message()
               << " (rollback journals what it writes; it writes nothing without a journal)\n";
      return kExitFailure;
    }
    if (Status locked = (*j)->LockExclusive(); !locked.ok()) {
      *ctx.err << "error: " << locked.message() << ".\n"
               << "Stop the daemon first (e.g. kubectl scale deployment/dbconnd --replicas=0), "
                  "or it would write the desired state back; then run rollback --yes again.\n";
      return kExitFailure;
    }
    journal = std::move(*j);
  }
  return RunRollback(opts, sel, journal.get(), ctx);
}

}  // namespace

Runner BindRollback(CLI::App& cmd) { return Bind(cmd, RollbackFlags, Rollback); }

}  // namespace dbconnd::cli
