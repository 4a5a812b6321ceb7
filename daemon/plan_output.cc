#include "daemon/plan_output.h"

#include "common/redact.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <ostream>

namespace dbconnd::daemon {
namespace {

// Messages may quote values from Google: passwords masked, size capped.
std::string Shown(std::string_view text) { return RedactForDisplay(text, 1000); }

namespace json = boost::json;
using reconcilers::Action;
using reconcilers::Diagnosis;
using reconcilers::Impact;
using reconcilers::Plan;
using reconcilers::Step;
using reconcilers::ShownValue;
using reconcilers::StepSymbol;
using reconcilers::StepVerb;

constexpr char kReset[] = "\033[0m";
constexpr char kBold[] = "\033[1m";
constexpr char kRed[] = "\033[31m";
constexpr char kGreen[] = "\033[32m";
constexpr char kYellow[] = "\033[33m";
constexpr char kCyan[] = "\033[36m";

std::string Paint(const TextStyle& style, const char* code, std::string_view text) {
  if (!style.color) return std::string(text);
  return std::string(code) + std::string(text) + kReset;
}

const char* ImpactColor(Impact i) {
  switch (i) {
    case Impact::kNone:
    case Impact::kOnline: return kGreen;
    case Impact::kMayRestart: return kYellow;
    case Impact::kConnectivityBreak:
    case Impact::kIrreversible: return kRed;
  }
  return kReset;
}

const char* SymbolColor(const Step& s) {
  if (!s.blocked.empty()) return kRed;
  switch (s.action) {
    case Action::kCreate: return kGreen;
    case Action::kUpdate: return kYellow;
    case Action::kReplace: return kRed;
    case Action::kRun:
    case Action::kWait: return kCyan;
  }
  return kReset;
}

void RenderProblems(std::string& out, const TextStyle& style, std::string_view title,
                    const std::vector<Diagnosis>& list) {
  if (list.empty()) return;
  out += Paint(style, kBold, title) + ":\n";
  for (const auto& d : list) {
    out += "  " + Paint(style, kRed, "!") + " " + Shown(d.problem) + "\n";
    if (!d.fix.empty()) out += "      fix: " + Shown(d.fix) + "\n";
  }
  out += "\n";
}

json::object ResourceJson(const reconcilers::ResourceRef& r) {
  return json::object{{"kind", std::string(reconcilers::ToString(r.kind))}, {"name", r.name}};
}

json::array ProblemsJson(const std::vector<Diagnosis>& list) {
  json::array a;
  for (const auto& d : list) {
    a.emplace_back(json::object{{"code", d.code},
                                {"resource", ResourceJson(d.resource)},
                                {"problem", Shown(d.problem)},
                                {"fix", Shown(d.fix)}});
  }
  return a;
}

json::object SummaryJson(const reconcilers::Summary& s) {
  return json::object{{"create", s.to_create},   {"update", s.to_update},
                      {"replace", s.to_replace}, {"run", s.to_run},
                      {"waiting", s.waiting},    {"blocked", s.blocked},
                      {"reportOnly", s.report_only}};
}

}  // namespace

bool UseColor(const std::ostream& out, bool disabled) {
  if (disabled) return false;
  if (const char* no = std::getenv("NO_COLOR"); no != nullptr && *no != '\0') return false;
  return &out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
}

std::string FormatElapsed(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  if (s < 60) {
    if (s < 10) return std::to_string(s) + "." + std::to_string((ms % 1000) / 100) + "s";
    return std::to_string(s) + "s";
  }
  std::string sec = std::to_string(s % 60);
  if (sec.size() < 2) sec = "0" + sec;
  return std::to_string(s / 60) + "m" + sec + "s";
}

std::string RenderPlanText(const Plan& plan, TextStyle style) {
  std::string out = Paint(style, kBold, "Intent " + plan.intent) + " (project " + plan.project +
                    ", region " + plan.region + ")\n";
  if (plan.report_only) {
    out += Paint(style, kYellow, "Report only (" + plan.report_only_reason +
                                     "): dbconnd will not change anything for this intent.") +
           "\n";
  }
  out += "\n";
  RenderProblems(out, style, "Diagnosis", plan.diagnoses);
  RenderProblems(out, style, "Security findings", plan.findings);
  if (plan.steps.empty()) {
    out += Paint(style, kGreen, "No changes.") + " Live state matches the intent.\n";
    return out;
  }
  out += "Changes, in execution order (re-planned after each one):\n\n";
  int n = 0;
  for (const auto& s : plan.steps) {
    ++n;
    out += "  " + std::to_string(n) + ". " + Paint(style, SymbolColor(s), StepSymbol(s)) + " ";
    if (!s.blocked.empty()) out += Paint(style, kRed, "blocked") + " ";
    out += std::string(StepVerb(s)) + " " + std::string(reconcilers::ToString(s.resource.kind)) +
           " \"" + s.resource.name + "\"";
    if (!s.changes.empty()) {
      std::string impact(reconcilers::ToString(s.impact()));
      if (s.replace()) impact += ", replace";
      out += "  [" + Paint(style, ImpactColor(s.impact()), impact) + "]";
    }
    if (s.report_only) out += "  (report only)";
    out += "\n      id: " + s.id;
    if (!s.depends_on.empty()) {
      out += "  after:";
      for (const auto& d : s.depends_on) out += " " + d;
    }
    out += "\n";
    for (const auto& c : s.changes) {
      const char* sign = c.before.empty() ? "+" : (c.after.empty() ? "-" : "~");
      std::string impact(reconcilers::ToString(c.impact));
      if (c.replace) impact += ", replace";
      out += "      " + std::string(sign) + " " + c.path + ": " + ShownValue(c.before) + " -> " +
             ShownValue(c.after) + "  [" + Paint(style, ImpactColor(c.impact), impact) + "]\n";
    }
    if (!s.blocked.empty()) out += "      blocked: " + Shown(s.blocked) + "\n";
    if (!s.waiting_for.empty()) out += "      waiting for: " + Shown(s.waiting_for) + "\n";
    out += "\n";
  }
  const auto sum = plan.summary();
  out += Paint(style, kBold, "Plan:") + " " + std::to_string(sum.to_create) + " to create, " +
         std::to_string(sum.to_update) + " to update, ";
  if (sum.to_replace) out += std::to_string(sum.to_replace) + " to replace, ";
  if (sum.to_run) out += std::to_string(sum.to_run) + " to verify, ";
  if (sum.waiting) out += std::to_string(sum.waiting) + " waiting, ";
  out += std::to_string(sum.blocked) + " blocked.\n";
  return out;
}

std::string RenderPlansText(const std::vector<IntentPlan>& plans, TextStyle style) {
  std::string out;
  int with_changes = 0;
  int errors = 0;
  for (const auto& p : plans) {
    if (!p.status.ok()) {
      ++errors;
      out += Paint(style, kBold, "Intent " + p.name) + " (" + p.file + ")\n" +
             Paint(style, kRed, "error: ") + Shown(p.status.message()) + "\n\n";
      continue;
    }
    if (p.plan.HasChanges()) ++with_changes;
    out += RenderPlanText(p.plan, style) + "\n";
  }
  out += std::to_string(plans.size()) + (plans.size() == 1 ? " intent: " : " intents: ") +
         std::to_string(with_changes) + " with changes, " + std::to_string(errors) +
         (errors == 1 ? " error.\n" : " errors.\n");
  return out;
}

std::string RenderPlansJson(const std::vector<IntentPlan>& plans) {
  json::object doc;
  doc["formatVersion"] = 1;
  json::array intents;
  int with_changes = 0;
  int errors = 0;
  size_t steps_total = 0;
  for (const auto& p : plans) {
    json::object o;
    o["name"] = p.name;
    o["file"] = p.file;
    o["project"] = p.plan.project;
    o["region"] = p.plan.region;
    o["reportOnly"] = p.plan.report_only;
    o["reportOnlyReason"] = p.plan.report_only_reason;
    if (!p.status.ok()) {
      ++errors;
      o["error"] = Shown(p.status.message());
    } else if (p.plan.HasChanges()) {
      ++with_changes;
    }
    json::array steps;
    for (const auto& s : p.plan.steps) {
      json::array changes;
      for (const auto& c : s.changes) {
        changes.emplace_back(json::object{{"path", c.path},
                                          {"before", c.before},
                                          {"after", c.after},
                                          {"impact", std::string(reconcilers::ToString(c.impact))},
                                          {"replace", c.replace}});
      }
      json::array deps;
      for (const auto& d : s.depends_on) deps.emplace_back(d);
      steps.emplace_back(json::object{{"id", s.id},
                                      {"resource", ResourceJson(s.resource)},
                                      {"action", std::string(reconcilers::ToString(s.action))},
                                      {"impact", std::string(reconcilers::ToString(s.impact()))},
                                      {"changes", std::move(changes)},
                                      {"dependsOn", std::move(deps)},
                                      {"blocked", Shown(s.blocked)},
                                      {"waitingFor", Shown(s.waiting_for)},
                                      {"reportOnly", s.report_only}});
    }
    steps_total += p.plan.steps.size();
    o["steps"] = std::move(steps);
    o["diagnoses"] = ProblemsJson(p.plan.diagnoses);
    o["findings"] = ProblemsJson(p.plan.findings);
    o["summary"] = SummaryJson(p.plan.summary());
    intents.emplace_back(std::move(o));
  }
  doc["intents"] = std::move(intents);
  doc["summary"] = json::object{{"intents", plans.size()},
                                {"withChanges", with_changes},
                                {"errors", errors},
                                {"steps", steps_total}};
  return json::serialize(doc) + "\n";
}

ProgressPrinter::ProgressPrinter(std::ostream& out, TextStyle style,
                                 std::chrono::milliseconds repeat)
    : out_(out), style_(style), repeat_(repeat) {}

std::function<void(const reconcilers::ApplyProgress&)> ProgressPrinter::Callback() {
  ProgressPrinter* self = this;
  return [self](const reconcilers::ApplyProgress& p) { (*self)(p); };
}

void ProgressPrinter::operator()(const reconcilers::ApplyProgress& p) {
  using Kind = reconcilers::ApplyProgress::Kind;
  const Step* s = p.step;
  switch (p.kind) {
    case Kind::kStepStarted: {
      ++steps_started_;
      last_wait_.clear();
      out_ << "[" << steps_started_ << "] " << Paint(style_, SymbolColor(*s), StepSymbol(*s)) << " "
           << StepVerb(*s) << " " << reconcilers::ToString(s->resource.kind) << " \""
           << s->resource.name << "\"";
      if (!s->changes.empty()) out_ << "  [" << reconcilers::ToString(s->impact()) << "]";
      out_ << "\n";
      break;
    }
    case Kind::kWaiting: {
      bool changed = p.message != last_wait_;
      if (changed || p.elapsed - last_wait_elapsed_ >= repeat_) {
        out_ << "      waiting for " << p.message << " … " << FormatElapsed(p.elapsed) << "\n";
        last_wait_ = p.message;
        last_wait_elapsed_ = p.elapsed;
      }
      break;
    }
    case Kind::kConflict:
      out_ << "      " << Paint(style_, kYellow, "conflict: ") << p.message << "\n";
      break;
    case Kind::kStepFinished:
      if (p.status.ok()) {
        ++steps_done_;
        out_ << "      " << Paint(style_, kGreen, "done") << " in " << FormatElapsed(p.elapsed)
             << "\n";
      } else {
        out_ << "      " << Paint(style_, kRed, "failed") << " after " << FormatElapsed(p.elapsed)
             << ": " << Shown(p.status.message()) << "\n";
      }
      break;
    case Kind::kIdle:
      if (p.message != last_wait_) {
        out_ << "      waiting for " << p.message << "\n";
        last_wait_ = p.message;
      }
      break;
  }
  out_.flush();
}

}  // namespace dbconnd::daemon
