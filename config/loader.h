#pragma once
// Loading desired-state files: YAML in, plain immutable structs out. This is
// the only code that sees yaml-cpp; no YAML type escapes config/.
//
// Every problem is collected (not just the first) as a Diagnostic with
// file:line:column, the field path and a message that says what to write.
// Loading never throws and never trusts input size: files, scalars, nesting
// and alias expansion are all bounded (see Limits).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace dbconnd::config {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  SourceLocation where;  // line/column 0 when the problem is a whole file
  std::string path;      // field path, e.g. "spec.workloads[1].method"; may be empty
  std::string message;   // never contains a secret
};

struct LoadResult {
  // Set only when there are no errors (warnings allowed).
  std::shared_ptr<const DesiredState> state;
  std::vector<Diagnostic> diagnostics;  // in file order, then cross-file checks
  std::vector<std::string> files;       // files read, in load order

  bool ok() const;
  size_t error_count() const;
  size_t warning_count() const;
};

struct Limits {
  size_t max_file_bytes = 1 << 20;     // per file
  size_t max_scalar_bytes = 16 << 10;  // per scalar (key or value)
  size_t max_nodes = 100000;           // per document, counting alias re-visits
  int max_depth = 32;                  // mapping/sequence nesting per document
  size_t max_documents = 1000;         // per file
  size_t max_list_items = 1000;        // workloads, authorizedNetworks
};

// Each path is a file (read whatever its name) or a directory: its *.yaml and
// *.yml entries one level deep, sorted, skipping names that start with '.'
// (so a Kubernetes ConfigMap mount's ..data and ..2024_* links are not read
// twice). The same file reached twice is read once.
LoadResult LoadPaths(const std::vector<std::string>& paths, const Limits& limits = {});

// LoadPaths for a daemon that loads the same paths again and again: a file
// whose content is unchanged since the previous Load is not parsed again,
// and its intents are the very objects of that load (shared, so unchanged
// intents cost no memory twice and compare equal by address). A file whose
// stat (device, inode, size, mtime, ctime) is unchanged, and which was read
// more than two seconds after its last modification, is not even read; a
// file modified closer to its reading than that has its content compared
// (a write within one timestamp tick leaves the stat as it was). Cross-file
// checks always run over the whole set. Results equal LoadPaths(paths).
// Not thread-safe.
class ConfigSource {
 public:
  explicit ConfigSource(std::vector<std::string> paths, Limits limits = {});
  ~ConfigSource();
  ConfigSource(const ConfigSource&) = delete;
  ConfigSource& operator=(const ConfigSource&) = delete;

  // force_read: read every file, whatever its stat says (SIGHUP).
  LoadResult Load(bool force_read = false);

  struct Stats {
    size_t files_read = 0;    // opened and read
    size_t files_parsed = 0;  // content new or changed: parsed
    size_t files_reused = 0;  // content unchanged: the previous parse reused
  };
  const Stats& last_stats() const { return stats_; }
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  struct Cache;
  std::vector<std::string> paths_;
  Limits limits_;
  std::unique_ptr<Cache> cache_;
  Stats stats_;
};

// One file's content, as if read from `file_name`.
LoadResult LoadString(std::string_view yaml, std::string file_name, const Limits& limits = {});

// "file:line:col: error: path: message" (line/col omitted when unknown).
std::string FormatDiagnostic(const Diagnostic& d);
std::string_view ToString(Diagnostic::Severity s);  // "error" | "warning"

// Every key the loader accepts, as a path pattern ("spec.instance.publicIp",
// "spec.workloads[].database.name"). Keys whose value is a free-form map
// (metadata.labels) are listed but not descended. Lets a test keep
// schema/dbconnd.schema.json in step with the loader.
std::vector<std::string> KnownKeyPaths();

}  // namespace dbconnd::config
