// `dbconnd validate PATH...`: load the files exactly as the daemon would and
// report every problem. Exit 0 valid (warnings allowed), 1 invalid, 2 usage.
// Output shapes are documented in docs/CONFIG.md ("validate output").

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>
#include <ostream>

#include "config/expiry.h"
#include "config/loader.h"
#include "cli/cli.h"

namespace dbconnd::cli {
namespace {

struct ValidateOptions {
  IntentFileOptions files;
  bool warnings_as_errors = false;
};

void ValidateFlags(CLI::App& cmd, ValidateOptions& o) {
  AddIntentFileOptions(cmd, o.files, {"text", "json"},
                       "Output format: text (compiler style) or json");
  cmd.add_flag("--warnings-as-errors", o.warnings_as_errors, "Exit 1 when there are warnings too");
}

std::string Plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void PrintText(const config::LoadResult& r, bool valid, std::ostream& out) {
  for (const auto& d : r.diagnostics) out << config::FormatDiagnostic(d) << "\n";
  size_t intents = r.state ? r.state->intents.size() : 0;
  out << (valid ? "valid: " : "invalid: ") << Plural(r.files.size(), "file") << ", "
      << Plural(intents, "intent") << ", " << Plural(r.error_count(), "error") << ", "
      << Plural(r.warning_count(), "warning") << "\n";
}

void PrintJson(const config::LoadResult& r, bool valid, std::ostream& out) {
  namespace json = boost::json;
  json::object doc;
  doc["formatVersion"] = 1;
  doc["valid"] = valid;
  doc["errorCount"] = r.error_count();
  doc["warningCount"] = r.warning_count();
  json::array files;
  for (const auto& f : r.files) files.emplace_back(f);
  doc["files"] = std::move(files);
  json::array intents;
  if (r.state) {
    for (const auto& p : r.state->intents) {
      const config::Intent& in = *p;
      json::object o;
      o["name"] = in.name;
      o["file"] = in.where.file.str();
      o["line"] = in.where.line;
      o["project"] = in.project;
      o["region"] = in.region;
      o["instance"] = in.instance.name;
      o["workloads"] = in.workloads.size();
      intents.emplace_back(std::move(o));
    }
  }
  doc["intents"] = std::move(intents);
  json::array diags;
  for (const auto& d : r.diagnostics) {
    json::object o;
    o["severity"] = std::string(config::ToString(d.severity));
    o["file"] = d.where.file.str();
    o["line"] = d.where.line;
    o["column"] = d.where.column;
    o["path"] = d.path;
    o["message"] = d.message;
    diags.emplace_back(std::move(o));
  }
  doc["diagnostics"] = std::move(diags);
  out << json::serialize(doc) << "\n";
}

int RunValidate(const ValidateOptions& opts, CommandContext& ctx) {
  config::LoadResult r = config::LoadPaths(opts.files.paths);
  if (r.state) {
    for (auto& d : config::ExpiredNetworkWarnings(*r.state, std::chrono::system_clock::now())) {
      r.diagnostics.push_back(std::move(d));
    }
  }
  bool valid = r.ok() && (!opts.warnings_as_errors || r.warning_count() == 0);
  if (opts.files.output == "json") {
    PrintJson(r, valid, *ctx.out);
  } else {
    PrintText(r, valid, *ctx.out);
  }
  return valid ? kExitOk : kExitFailure;
}

}  // namespace

Runner BindValidate(CLI::App& cmd) { return Bind(cmd, ValidateFlags, RunValidate); }

}  // namespace dbconnd::cli
