#pragma once
// The dbconnd series that SREs are promised: every name the alert rules
// (deploy/prometheus/*.yaml), the Grafana dashboard (deploy/grafana/*.json)
// and docs/METRICS.md mention. Tests hold a live /metrics against it, so a
// series that is declared but never set fails a test instead of leaving an
// alert that can never fire.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace dbconnd::integration {

// "dbconnd_x_bucket" / "_count" / "_sum" name the histogram "dbconnd_x".
inline std::string FamilyOf(std::string name) {
  for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}

// Every dbconnd_[a-z0-9_]+ token in `text`, by family, with where it was seen.
inline void ScanSeries(const std::string& text, const std::string& where,
                       std::map<std::string, std::string>& out) {
  const std::string prefix = "dbconnd_";
  for (std::size_t pos = text.find(prefix); pos != std::string::npos;
       pos = text.find(prefix, pos + 1)) {
    if (pos > 0) {
      char before = text[pos - 1];
      if (std::isalnum(static_cast<unsigned char>(before)) || before == '_') continue;
    }
    std::size_t end = pos + prefix.size();
    while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) ||
                                 std::isdigit(static_cast<unsigned char>(text[end])) ||
                                 text[end] == '_')) {
      ++end;
    }
    if (end == pos + prefix.size()) continue;
    out.emplace(FamilyOf(text.substr(pos, end - pos)), where);
  }
}

// Family -> the first file that names it.
inline std::map<std::string, std::string> PromisedSeries(const std::string& source_dir) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  std::vector<fs::path> files = {fs::path(source_dir) / "docs" / "METRICS.md"};
  for (const char* dir : {"deploy/prometheus", "deploy/grafana"}) {
    for (const auto& e : fs::directory_iterator(fs::path(source_dir) / dir)) {
      auto ext = e.path().extension();
      if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(e.path());
    }
  }
  for (const auto& f : files) {
    ScanSeries(proc::ReadFile(f.string()), fs::relative(f, source_dir).string(), out);
  }
  return out;
}

// Families that have at least one sample in a Prometheus text exposition.
inline std::set<std::string> SampledFamilies(const std::string& exposition) {
  std::set<std::string> out;
  std::size_t start = 0;
  while (start < exposition.size()) {
    std::size_t end = exposition.find('\n', start);
    if (end == std::string::npos) end = exposition.size();
    std::string_view line(exposition.data() + start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    out.insert(FamilyOf(std::string(line.substr(0, name_end))));
  }
  return out;
}

}  // namespace dbconnd::integration
