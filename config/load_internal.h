#pragma once
// Internal to config/: shared by loader.cc, decode.cc and rules.cc. Not part
// of the library's interface.

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"
#include "config/model.h"

namespace dbconnd::config::internal {

// Collects the diagnostics of one YAML document and remembers where each
// decoded value was written, so semantic rules can point at the right line.
class Sink {
 public:
  Sink(FileName file, const Limits& limits, std::vector<Diagnostic>* out)
      : file_(std::move(file)), limits_(limits), out_(out) {}

  void Error(SourceLocation where, std::string path, std::string message);
  void Warning(SourceLocation where, std::string path, std::string message);
  int errors() const { return errors_; }
  // True when an error was reported for `prefix` or a field below it, so a
  // rule can stay quiet instead of repeating a problem in other words.
  bool HasErrorUnder(std::string_view prefix) const;
  const FileName& file() const { return file_; }
  const Limits& limits() const { return limits_; }

  void Record(const std::string& path, SourceLocation where) { locations_[path] = where; }
  bool Has(const std::string& path) const { return locations_.count(path) > 0; }
  // Location of `path`, else of its nearest recorded ancestor.
  SourceLocation At(std::string path) const;

 private:
  FileName file_;
  Limits limits_;
  std::vector<Diagnostic>* out_;
  int errors_ = 0;
  std::map<std::string, SourceLocation> locations_;
  std::vector<std::string> error_paths_;
};

// The accepted keys: `parent` is a path pattern with "[]" for list items.
struct KeySpec {
  std::string_view parent;
  std::string_view key;
  bool free_form = false;  // value is a map of arbitrary keys (labels)
};
std::span<const KeySpec> Keys();

// "spec.workloads[3].database" -> "spec.workloads[].database"
std::string PatternOf(std::string_view path);

// Cross-field rules on one decoded intent (method prerequisites, overlaps,
// duplicates, world-open networks).
void CheckIntent(Sink& sink, const Intent& intent);

// "file:12" for naming the other side of a conflict.
std::string ShortLocation(const SourceLocation& where);

}  // namespace dbconnd::config::internal
