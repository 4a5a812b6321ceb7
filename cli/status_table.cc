#include "cli/status_table.h"

#include <boost/json.hpp>
#include <algorithm>
#include <sstream>
#include <vector>

namespace dbconnd::cli {
namespace json = boost::json;
namespace {

std::string Str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return "";
}

const json::object* ConditionOf(const json::object& o, std::string_view type) {
  auto* conds = o.if_contains("conditions");
  if (!conds || !conds->is_array()) return nullptr;
  for (const auto& c : conds->as_array()) {
    if (c.is_object() && Str(c.as_object(), "type") == type) return &c.as_object();
  }
  return nullptr;
}

std::string CondStatus(const json::object& o, std::string_view type) {
  const json::object* c = ConditionOf(o, type);
  return c ? Str(*c, "status") : "Unknown";
}

std::string CondReason(const json::object& o) {
  const json::object* synced = ConditionOf(o, "Synced");
  const json::object* ready = ConditionOf(o, "Ready");
  std::string r = synced ? Str(*synced, "reason") : "";
  if (r.empty() && ready) r = Str(*ready, "reason");
  return r.empty() ? "-" : r;
}

std::string PlanSummary(const json::object& o) {
  auto* p = o.if_contains("lastPlan");
  if (!p || !p->is_object()) return "-";
  const auto& plan = p->as_object();
  std::string out;
  for (const char* k : {"create", "update", "replace", "run", "waiting", "blocked"}) {
    auto* v = plan.if_contains(k);
    if (!v || !v->is_number() || v->to_number<int64_t>() == 0) continue;
    if (!out.empty()) out += ",";
    out += std::to_string(v->to_number<int64_t>()) + " " + k;
  }
  return out.empty() ? "in sync" : out;
}

// "2026-11-26T21:19:41.975Z" -> "21:19:41"
std::string ShortTime(const std::string& rfc3339) {
  auto t = rfc3339.find('T');
  if (t == std::string::npos || rfc3339.size() < t + 9) return rfc3339.empty() ? "-" : rfc3339;
  return rfc3339.substr(t + 1, 8);
}

void PrintTable(std::ostringstream& os, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    if (widths.size() < r.size()) widths.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    os << line << "\n";
  }
}

}  // namespace

bool AllReady(const json::object& status) {
  auto* intents = status.if_contains("intents");
  if (!intents || !intents->is_array()) return false;
  for (const auto& i : intents->as_array()) {
    if (!i.is_object() || CondStatus(i.as_object(), "Ready") != "True") return false;
  }
  return true;
}

std::string RenderStatusTable(const json::object& status, bool resources) {
  std::ostringstream os;
  std::string ready = Str(status, "ready") == "true" ? "ready" : "not ready";
  if (Str(status, "ready") != "true" && !Str(status, "readyReason").empty()) {
    ready += " (" + Str(status, "readyReason") + ")";
  }
  os << "generation " << Str(status, "generation") << ", " << ready;
  if (Str(status, "observe") == "true") os << ", observe only";
  if (Str(status, "leader") == "false") os << ", standby (not leader)";
  os << "\n";
  auto* errs = status.if_contains("configErrors");
  if (errs && errs->is_array() && !errs->as_array().empty()) {
    os << "ConfigInvalid: the last configuration change was rejected; generation "
       << Str(status, "generation") << " keeps running:\n";
    for (const auto& e : errs->as_array()) {
      if (e.is_string()) os << "  " << std::string(e.as_string()) << "\n";
    }
  }
  os << "\n";
  std::vector<std::vector<std::string>> rows{
      {"NAME", "MODE", "READY", "SYNCED", "REASON", "GEN", "LAST PLAN", "WRITES", "NEXT RESYNC"}};
  std::vector<std::string> errors;
  auto* intents = status.if_contains("intents");
  if (intents && intents->is_array()) {
    for (const auto& iv : intents->as_array()) {
      if (!iv.is_object()) continue;
      const auto& i = iv.as_object();
      rows.push_back({Str(i, "name"), Str(i, "mode"), CondStatus(i, "Ready"),
                      CondStatus(i, "Synced"), CondReason(i), Str(i, "observedGeneration"),
                      PlanSummary(i), Str(i, "writes"), ShortTime(Str(i, "nextResync"))});
      if (resources) {
        auto* res = i.if_contains("resources");
        if (res && res->is_array()) {
          for (const auto& rv : res->as_array()) {
            if (!rv.is_object()) continue;
            const auto& r = rv.as_object();
            rows.push_back({"  " + Str(r, "kind") + "/" + Str(r, "name"), "",
                            CondStatus(r, "Ready"), CondStatus(r, "Synced"), CondReason(r), "",
                            "", "", ""});
          }
        }
      }
      if (!Str(i, "lastError").empty()) errors.push_back(Str(i, "name") + ": " + Str(i, "lastError"));
    }
  }
  PrintTable(os, rows);
  if (!errors.empty()) {
    os << "\nLast errors:\n";
    for (const auto& e : errors) os << "  " << e << "\n";
  }
  return os.str();
}

}  // namespace dbconnd::cli
