// `dbconnd export --project P [--region R]... [--instance NAME]... [--output-dir DIR]`:
// live state as intent files, one DatabaseConnectivity per Cloud SQL
// instance (see cli/export.h for the rules). Without --output-dir the
// documents go to stdout as one multi-document stream; notes about what
// could not be declared as it is go to stderr. Exit 0 when every instance
// was exported, 1 when reading failed or an instance could not be written
// as a valid file (the others are still written).

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>

#include "config/names.h"
#include "cli/cli.h"
#include "cli/export.h"
#include "cli/gcp_setup.h"
#include "reconcilers/project_number.h"
#include "cli/reconcile_cli.h"

namespace dbconnd::cli {
namespace {

namespace fs = std::filesystem;

struct ExportCliOptions {
  ExportOptions export_options;
  std::string output_dir;
  GcpFlags gcp;
};

void ExportFlags(CLI::App& cmd, ExportCliOptions& o) {
  ExportOptions& e = o.export_options;
  cmd.add_option("--project", e.project, "Google Cloud project ID")->required();
  cmd.add_option(
      "--project-number", e.project_number,
      "The project's number; looked up with Resource Manager when left out, checked when given");
  cmd.add_option("--region", e.regions, "Only instances in this region (repeatable)");
  cmd.add_option("--instance", e.instances, "Only this Cloud SQL instance (repeatable)");
  cmd.add_option("--output-dir", o.output_dir,
                 "Write DIR/<instance>.yaml files instead of one YAML stream on stdout");
  AddGcpFlags(cmd, o.gcp);
}

// Writes `text` to `path` through a temporary file and a rename, so a reader
// (or a crash) never sees half a file; an unchanged file is not rewritten.
Status WriteFileAtomically(const fs::path& path, const std::string& text) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (old == text) return OkStatus();
    }
  }
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return FailedPreconditionError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return FailedPreconditionError("cannot write " + path.string() + ": " + ec.message());
  return OkStatus();
}

int RunExport(const ExportCliOptions& opts, CommandContext& ctx) {
  if (Status s = config::CheckProjectId(opts.export_options.project); !s.ok()) {
    *ctx.err << "error: --project: " << s.message() << "\n";
    return kExitUsage;
  }
  if (!opts.export_options.project_number.empty()) {
    if (Status s = config::CheckProjectNumber(opts.export_options.project_number); !s.ok()) {
      *ctx.err << "error: --project-number: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  if (!opts.output_dir.empty()) {
    std::error_code ec;
    fs::create_directories(opts.output_dir, ec);
    if (ec || !fs::is_directory(opts.output_dir)) {
      *ctx.err << "error: --output-dir " << opts.output_dir
               << " is not a directory we can create\n";
      return kExitFailure;
    }
  }
  boost::asio::io_context io;
  auto access = SetUpGcpForCommand(io.get_executor(), opts.gcp, *ctx.err);
  if (!access) return kExitFailure;
  // --project-number is optional: Resource Manager tells it; a given one is
  // checked against Google's. Not knowing it matters only for an instance
  // with a private IP, which ReadForExport reports.
  ExportOptions export_options = opts.export_options;
  {
    config::Intent probe;
    probe.project = export_options.project;
    probe.project_number = export_options.project_number;
    probe.instance.private_ip = config::PrivateIp{};
    auto resolved =
        RunToCompletion(io, reconcilers::ResolveProjectNumber(access->clients(), std::move(probe)));
    if (resolved.ok()) {
      export_options.project_number = resolved->project_number;
    } else if (!export_options.project_number.empty()) {
      *ctx.err << "error: --project-number: " << resolved.status().message() << "\n";
      return kExitFailure;
    }
  }
  auto snapshot = RunToCompletion(io, ReadForExport(access->clients(), export_options));
  if (!snapshot.ok()) {
    *ctx.err << "error: " << snapshot.status().message() << "\n";
    return kExitFailure;
  }
  std::vector<ExportedIntent> intents = BuildExport(*snapshot, export_options);
  int code = kExitOk;
  int written = 0;
  int observe = 0;
  bool first = true;
  for (const auto& e : intents) {
    for (const auto& n : e.notes) *ctx.err << "note: " << e.name << ": " << n << "\n";
    if (!e.error.empty()) {
      *ctx.err << "error: " << e.error << "\n";
      code = kExitFailure;
      continue;
    }
    if (e.observe) ++observe;
    if (opts.output_dir.empty()) {
      if (!first) *ctx.out << "---\n";
      *ctx.out << e.yaml;
      first = false;
    } else {
      fs::path path = fs::path(opts.output_dir) / (e.name + ".yaml");
      if (Status s = WriteFileAtomically(path, e.yaml); !s.ok()) {
        *ctx.err << "error: " << s.message() << "\n";
        code = kExitFailure;
        continue;
      }
      *ctx.out << "wrote " << path.string() << "\n";
    }
    ++written;
  }
  *ctx.err << "exported " << written << (written == 1 ? " instance" : " instances")
           << " from project " << opts.export_options.project;
  if (observe > 0) {
    *ctx.err << "; " << observe
             << " set to policy.mode: observe because live state cannot be declared as it is "
                "(see the notes above and the comments in the files)";
  }
  *ctx.err << "\n";
  if (intents.empty()) *ctx.err << "note: no Cloud SQL instance matched\n";
  return code;
}

}  // namespace

Runner BindExport(CLI::App& cmd) { return Bind(cmd, ExportFlags, RunExport); }

}  // namespace dbconnd::cli
