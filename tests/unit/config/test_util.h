#pragma once
// Helpers for the config tests: a small valid document to build cases on,
// and matchers for "this diagnostic, at this place".

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "config/loader.h"

namespace dbconnd::config::testing {

// Lines 1-9 of every case document; a case appends from line 10 on.
inline constexpr std::string_view kPrefix =
    "apiVersion: dbconnd.dev/v1alpha1\n"  // 1
    "kind: DatabaseConnectivity\n"        // 2
    "metadata: {name: app}\n"             // 3
    "spec:\n"                             // 4
    "  project: my-project-123\n"         // 5
    "  projectNumber: \"123456789012\"\n" // 6
    "  region: us-central1\n"             // 7
    "  instance:\n"                       // 8
    "    name: db1\n";                    // 9

inline std::string Doc(std::string_view rest) { return std::string(kPrefix) + std::string(rest); }

// Doc with one substring of the prefix replaced.
inline std::string DocWith(std::string_view from, std::string_view to, std::string_view rest = "") {
  std::string s = Doc(rest);
  auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  s.replace(pos, from.size(), to);
  return s;
}

inline std::string Dump(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += FormatDiagnostic(d) + "\n";
  return out;
}

// Finds an error with this path whose message contains `text`.
inline const Diagnostic* FindError(const LoadResult& r, std::string_view path, std::string_view text) {
  for (const auto& d : r.diagnostics) {
    if (d.severity == Diagnostic::Severity::kError && d.path == path &&
        d.message.find(text) != std::string::npos) {
      return &d;
    }
  }
  return nullptr;
}

inline const Diagnostic* FindWarning(const LoadResult& r, std::string_view path, std::string_view text) {
  for (const auto& d : r.diagnostics) {
    if (d.severity == Diagnostic::Severity::kWarning && d.path == path &&
        d.message.find(text) != std::string::npos) {
      return &d;
    }
  }
  return nullptr;
}

// 1-based column of `marker` within line `line` of `text`; 0 if absent.
inline int ColumnOf(std::string_view text, int line, std::string_view marker) {
  size_t pos = 0;
  for (int l = 1; l < line; ++l) {
    pos = text.find('\n', pos);
    if (pos == std::string_view::npos) return 0;
    ++pos;
  }
  size_t end = text.find('\n', pos);
  std::string_view row = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
  size_t col = row.find(marker);
  return col == std::string_view::npos ? 0 : static_cast<int>(col) + 1;
}

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("dbconnd-config-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path Write(const std::string& rel, const std::string& content) const {
    std::filesystem::path p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace dbconnd::config::testing

// One TEST_CASE per invalid input: the load fails and reports an error whose
// message contains `text` for field `path`, at `line` and at the column where
// `marker` starts on that line.
#define DBCONND_INVALID_CASE(NAME, YAML, PATH, LINE, MARKER, TEXT)                       \
  TEST_CASE("invalid: " NAME, "[config][invalid]") {                                    \
    using namespace ::dbconnd::config;                                                  \
    using namespace ::dbconnd::config::testing;                                         \
    const std::string input = (YAML);                                                   \
    LoadResult r = LoadString(input, "case.yaml");                                      \
    INFO(input);                                                                        \
    INFO(Dump(r));                                                                      \
    CHECK_FALSE(r.ok());                                                                \
    CHECK(r.state == nullptr);                                                          \
    const Diagnostic* d = FindError(r, PATH, TEXT);                                     \
    REQUIRE(d != nullptr);                                                              \
    CHECK(d->where.file == "case.yaml");                                                \
    CHECK(d->where.line == (LINE));                                                     \
    int expected_col = ColumnOf(input, LINE, MARKER);                                   \
    REQUIRE(expected_col > 0);                                                          \
    CHECK(d->where.column == expected_col);                                             \
  }
