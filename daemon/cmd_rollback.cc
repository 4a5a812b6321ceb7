// GCC 12 at -O1 flags asio's awaitable frame allocator as a mismatched
// new/delete pair (a false positive on coroutine frames).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// `dbconnd rollback --last | --to-generation N [--yes]`: puts back the prior
// values the journal recorded before dbconnd's own writes.
//
// What can be restored is what the journal holds in full: Cloud SQL instance
// settings (ipv4Enabled, sslMode, authorized networks, database flags). They
// are restored in the safe order — the old public path is re-opened in the
// same single PATCH that restores the other settings, so no client loses its
// path. Changes that cannot be undone are listed and left alone: a private
// network (irreversible in Cloud SQL), created connectors/ranges/peerings
// (harmless to keep), and workload env values (the journal never holds the
// secrets an old DATABASE_URL carried).
//
// Without --yes it only prints the preview (exit 2 when there is something
// to restore). A running daemon will write its desired state back unless the
// intent is paused or the files change: the preview says so.

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>

#include "daemon/cli.h"
#include "daemon/gcp_setup.h"
#include "daemon/journal.h"
#include "gcp/operations.h"

namespace dbconnd::daemon {
namespace asio = boost::asio;
namespace {

struct RollbackOptions {
  std::string state_dir = "/var/lib/dbconnd";
  bool last = false;
  int64_t to_generation = -1;
  bool yes = false;
  GcpFlags gcp;
};

constexpr char kIp[] = "settings.ipConfiguration.";
constexpr char kNets[] = "settings.ipConfiguration.authorizedNetworks[";
constexpr char kFlags[] = "settings.databaseFlags[";

bool StartsWith(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string Unquote(const std::string& v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// What one instance goes back to: path -> prior display value.
struct InstanceTarget {
  std::string project;
  std::string instance;
  std::map<std::string, std::string> prior;
};

struct Selection {
  std::map<std::string, InstanceTarget> instances;  // by project/instance
  std::vector<std::string> skipped;                // "why" lines
  int entries = 0;
};

Selection Select(const std::vector<JournalEntry>& entries, const RollbackOptions& opts) {
  Selection sel;
  int64_t newest = 0;
  for (const auto& e : entries) {
    if (e.finished && e.outcome_code == "OK") newest = std::max(newest, e.generation);
  }
  int64_t from = opts.last ? newest : opts.to_generation + 1;
  // Newest first, so the oldest prior value in the range wins.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const JournalEntry& e = *it;
    if (!e.finished || e.outcome_code != "OK" || e.generation < from) continue;
    if (opts.last && e.generation != newest) continue;
    ++sel.entries;
    if (e.kind != "instance" || !e.has_operation) {
      sel.skipped.push_back(e.step + ": " + e.action + " of a " + e.kind +
                            " is not rolled back (created resources are kept; workload env "
                            "values held secrets the journal never stores)");
      continue;
    }
    InstanceTarget& t = sel.instances[e.operation.project + "/" + e.name];
    t.project = e.operation.project;
    t.instance = e.name;
    for (const auto& [path, before] : e.prior) {
      if (StartsWith(path, "settings.ipConfiguration.privateNetwork") ||
          StartsWith(path, "settings.ipConfiguration.allocatedIpRange")) {
        sel.skipped.push_back(e.step + ": " + path + " cannot be undone (Cloud SQL keeps a private "
                              "network once set)");
        continue;
      }
      t.prior[path] = before;
    }
  }
  return sel;
}

// Builds the PATCH restoring `t` on `live`; lines of the preview go to `preview`.
std::optional<gcp::SqlInstancePatch> BuildPatch(const InstanceTarget& t, const gcp::SqlInstance& live,
                                                std::vector<std::string>& preview) {
  gcp::SqlInstancePatch p;
  p.settings_version = live.settings_version;
  std::vector<gcp::AclEntry> nets = live.authorized_networks;
  std::vector<gcp::DatabaseFlag> flags = live.database_flags;
  bool nets_changed = false, flags_changed = false;
  for (const auto& [path, before] : t.prior) {
    if (path == std::string(kIp) + "ipv4Enabled") {
      bool want = Unquote(before) == "true";
      if (want != live.ipv4_enabled) {
        p.ipv4_enabled = want;
        preview.push_back(path + ": " + (live.ipv4_enabled ? "true" : "false") + " -> " +
                          (want ? "true" : "false"));
      }
    } else if (path == std::string(kIp) + "sslMode") {
      std::string want = Unquote(before);
      if (!want.empty() && want != live.ssl_mode) {
        p.ssl_mode = want;
        preview.push_back(path + ": " + live.ssl_mode + " -> " + want);
      }
    } else if (StartsWith(path, kNets) && path.back() == ']') {
      std::string cidr = path.substr(sizeof(kNets) - 1, path.size() - sizeof(kNets));
      auto it = std::find_if(nets.begin(), nets.end(), [&](const gcp::AclEntry& a) { return a.value == cidr; });
      if (before.empty() && it != nets.end()) {
        nets.erase(it);
        nets_changed = true;
        preview.push_back("authorizedNetworks: remove " + cidr);
      } else if (!before.empty() && it == nets.end()) {
        // "203.0.113.0/24 (office)"
        std::string name;
        if (auto lp = before.find(" ("); lp != std::string::npos && before.back() == ')') {
          name = before.substr(lp + 2, before.size() - lp - 3);
        }
        nets.push_back({cidr, name, ""});
        nets_changed = true;
        preview.push_back("authorizedNetworks: add " + cidr + (name.empty() ? "" : " (" + name + ")"));
      }
    } else if (StartsWith(path, kFlags) && path.back() == ']') {
      std::string name = path.substr(sizeof(kFlags) - 1, path.size() - sizeof(kFlags));
      std::string want = Unquote(before);
      auto it = std::find_if(flags.begin(), flags.end(), [&](const gcp::DatabaseFlag& f) { return f.name == name; });
      if (want.empty() && it != flags.end()) {
        flags.erase(it);
        flags_changed = true;
        preview.push_back("databaseFlags: remove " + name);
      } else if (!want.empty() && (it == flags.end() || it->value != want)) {
        if (it == flags.end()) flags.push_back({name, want});
        else it->value = want;
        flags_changed = true;
        preview.push_back("databaseFlags: " + name + " = " + want);
      }
    } else {
      preview.push_back(path + ": not restorable automatically (left as it is)");
    }
  }
  if (nets_changed) p.authorized_networks = nets;
  if (flags_changed) p.database_flags = flags;
  if (p.empty()) return std::nullopt;
  return p;
}

asio::awaitable<void> RunRollback(RollbackOptions opts, gcp::Clients clients, Selection sel,
                                  Journal* journal, std::ostream* out, std::ostream* err,
                                  int* exit_code) {
  int pending = 0;
  for (const auto& [key, t] : sel.instances) {
    auto live = co_await clients.sql->GetInstance(t.project, t.instance);
    if (!live.ok()) {
      *err << "error: reading instance " << t.instance << ": " << live.status().message() << "\n";
      *exit_code = kExitFailure;
      co_return;
    }
    std::vector<std::string> preview;
    auto patch = BuildPatch(t, *live, preview);
    *out << "~ instance/" << t.instance << " (project " << t.project << ")\n";
    for (const auto& l : preview) *out << "    " << l << "\n";
    if (!patch) {
      *out << "    already at the journaled prior values\n";
      continue;
    }
    ++pending;
    if (!opts.yes) continue;
    std::string id;
    if (journal) {
      auto begun = journal->Begin(0, "rollback", "instance/" + t.instance, "instance", t.instance,
                                  "update", "{}", {});
      if (begun.ok()) id = *begun;
    }
    auto op = co_await clients.sql->PatchInstance(t.project, t.instance, *patch);
    if (!op.ok()) {
      if (journal && !id.empty()) (void)journal->RecordOutcome(id, op.status());
      *err << "error: instance " << t.instance << ": " << op.status().message() << "\n";
      *exit_code = kExitFailure;
      co_return;
    }
    if (journal && !id.empty()) (void)journal->RecordOperation(id, *op);
    gcp::WaitOptions wait;
    wait.timeout = std::chrono::minutes(30);
    auto done = co_await gcp::WaitForOperation(clients, *op, wait);
    Status outcome = done.ok() ? done->error : done.status();
    if (journal && !id.empty()) (void)journal->RecordOutcome(id, outcome);
    if (!outcome.ok()) {
      *err << "error: instance " << t.instance << ": " << outcome.message() << "\n";
      *exit_code = kExitFailure;
      co_return;
    }
    *out << "    restored\n";
  }
  for (const auto& s : sel.skipped) *out << "  (kept) " << s << "\n";
  if (pending > 0 && !opts.yes) {
    *out << "\n" << pending << " instance(s) to restore. Run again with --yes to apply.\n"
         << "Note: a running `dbconnd run` writes the desired state back unless the intent is "
            "paused (policy.paused) or its file changes.\n";
    *exit_code = 2;
  }
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
  asio::io_context io;
  auto access = SetUpGcp(io.get_executor(), opts.gcp);
  if (!access.ok()) {
    *ctx.err << "error: " << access.status().message() << "\n";
    return kExitFailure;
  }
  int code = kExitOk;
  asio::co_spawn(io,
                 RunRollback(opts, (*access)->clients(), sel, journal.get(), ctx.out, ctx.err, &code),
                 asio::detached);
  io.run();
  return code;
}

}  // namespace

void RegisterRollbackCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<RollbackOptions>();
  CLI::App* cmd = app.add_subcommand(
      "rollback", "Restore the values journaled before dbconnd's own writes (preview; --yes applies)");
  cmd->add_option("--state-dir", opts->state_dir, "The daemon's --state-dir")->capture_default_str();
  cmd->add_flag("--last", opts->last, "Undo the writes of the newest journaled generation");
  cmd->add_option("--to-generation", opts->to_generation,
                  "Undo every write made for generations after N");
  cmd->add_flag("--yes", opts->yes, "Apply; without it only the preview is shown");
  AddGcpFlags(*cmd, opts->gcp);
  cmd->callback([opts, &ctx] { ctx.exit_code = Rollback(*opts, ctx); });
}

}  // namespace dbconnd::daemon
