#include "reconcilers/plan.h"

#include "common/redact.h"

#include <algorithm>

namespace dbconnd::reconcilers {

std::string_view ToString(ResourceKind k) {
  switch (k) {
    case ResourceKind::kPrivateServicesRange: return "privateServicesRange";
    case ResourceKind::kServicePeering: return "servicePeering";
    case ResourceKind::kConnector: return "connector";
    case ResourceKind::kInstance: return "instance";
    case ResourceKind::kJob: return "job";
    case ResourceKind::kService: return "service";
    case ResourceKind::kPscAddress: return "pscAddress";
    case ResourceKind::kPscEndpoint: return "pscEndpoint";
  }
  return "unknown";
}

std::string_view ToString(Impact i) {
  switch (i) {
    case Impact::kNone: return "none";
    case Impact::kOnline: return "online";
    case Impact::kMayRestart: return "may-restart";
    case Impact::kConnectivityBreak: return "connectivity-break";
    case Impact::kIrreversible: return "irreversible";
  }
  return "unknown";
}

std::string_view ToString(Action a) {
  switch (a) {
    case Action::kCreate: return "create";
    case Action::kUpdate: return "update";
    case Action::kReplace: return "replace";
    case Action::kRun: return "run";
    case Action::kWait: return "wait";
  }
  return "unknown";
}

Impact Step::impact() const {
  Impact out = Impact::kNone;
  for (const auto& c : changes) out = std::max(out, c.impact);
  return out;
}

bool Step::replace() const {
  return std::any_of(changes.begin(), changes.end(),
                     [](const FieldChange& c) { return c.replace; });
}

const Step* Plan::Find(std::string_view id) const {
  for (const auto& s : steps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

Summary Plan::summary() const {
  Summary out;
  for (const auto& s : steps) {
    if (s.report_only) ++out.report_only;
    if (!s.blocked.empty()) {
      ++out.blocked;
      continue;
    }
    if (s.action == Action::kWait || !s.waiting_for.empty()) ++out.waiting;
    switch (s.action) {
      case Action::kCreate: ++out.to_create; break;
      case Action::kUpdate: ++out.to_update; break;
      case Action::kReplace: ++out.to_replace; break;
      case Action::kRun: ++out.to_run; break;
      case Action::kWait: break;
    }
  }
  return out;
}

bool IsReady(const Plan& plan, const Step& step) {
  if (step.action == Action::kWait || step.report_only || !step.blocked.empty() ||
      !step.waiting_for.empty()) {
    return false;
  }
  for (const auto& dep : step.depends_on) {
    if (plan.Find(dep) != nullptr) return false;
  }
  return true;
}

const Step* FirstReadyStep(const Plan& plan) {
  for (const auto& s : plan.steps) {
    if (IsReady(plan, s)) return &s;
  }
  return nullptr;
}

std::size_t CountActionable(const Plan& plan) {
  return static_cast<std::size_t>(std::count_if(
      plan.steps.begin(), plan.steps.end(),
      [](const Step& s) { return s.action != Action::kWait && s.blocked.empty(); }));
}

std::string_view StepSymbol(const Step& s) {
  if (!s.blocked.empty()) return "!";
  switch (s.action) {
    case Action::kCreate: return "+";
    case Action::kUpdate: return "~";
    case Action::kReplace: return "-/+";
    case Action::kRun: return ">";
    case Action::kWait: return "...";
  }
  return "?";
}

std::string_view StepVerb(const Step& s) {
  switch (s.action) {
    case Action::kCreate: return "create";
    case Action::kUpdate: return "update";
    case Action::kReplace: return "replace";
    case Action::kRun: return "run (verify)";
    case Action::kWait: return "wait for";
  }
  return "";
}

std::string ShownValue(const std::string& s) { return s.empty() ? "(unset)" : s; }

std::string ShownText(std::string_view text) { return RedactForDisplay(text, 1000); }

TextTone StepTone(const Step& s) {
  if (!s.blocked.empty()) return TextTone::kDanger;
  switch (s.action) {
    case Action::kCreate: return TextTone::kGood;
    case Action::kUpdate: return TextTone::kCaution;
    case Action::kReplace: return TextTone::kDanger;
    case Action::kRun:
    case Action::kWait: return TextTone::kInfo;
  }
  return TextTone::kInfo;
}

namespace {

TextTone ImpactTone(Impact i) {
  switch (i) {
    case Impact::kNone:
    case Impact::kOnline: return TextTone::kGood;
    case Impact::kMayRestart: return TextTone::kCaution;
    case Impact::kConnectivityBreak:
    case Impact::kIrreversible: return TextTone::kDanger;
  }
  return TextTone::kDanger;
}

void RenderProblems(std::string& out, const TextPainter& paint, std::string_view title,
                    const std::vector<Diagnosis>& list) {
  if (list.empty()) return;
  out += paint(title, TextTone::kStrong) + ":\n";
  for (const auto& d : list) {
    // Problems are written to name their resource themselves.
    out += "  " + paint("!", TextTone::kDanger) + " " + ShownText(d.problem) + "\n";
    if (!d.fix.empty()) out += "      fix: " + ShownText(d.fix) + "\n";
  }
  out += "\n";
}

std::string Unpainted(std::string_view text, TextTone /*tone*/) { return std::string(text); }

}  // namespace

std::string RenderText(const Plan& plan, const TextPainter& painter) {
  const TextPainter& paint = painter ? painter : TextPainter(Unpainted);
  std::string out = paint("Intent " + plan.intent, TextTone::kStrong) + " (project " +
                    plan.project + ", region " + plan.region + ")\n";
  if (plan.report_only) {
    out += paint("Report only (" + plan.report_only_reason +
                     "): dbconnd will not change anything for this intent.",
                 TextTone::kCaution) +
           "\n";
  }
  out += "\n";
  RenderProblems(out, paint, "Diagnosis", plan.diagnoses);
  RenderProblems(out, paint, "Security findings", plan.findings);
  if (!plan.notes.empty()) {
    out += paint("Credentials", TextTone::kStrong) + ":\n";
    for (const auto& n : plan.notes) {
      out += "  - " + n.problem + "\n";
      if (!n.fix.empty()) out += "      " + n.fix + "\n";
    }
    out += "\n";
  }
  if (plan.steps.empty()) {
    out += paint("No changes.", TextTone::kGood) + " Live state matches the intent.\n";
    return out;
  }
  out += "Changes, in execution order (re-planned after each one):\n\n";
  int n = 0;
  for (const auto& s : plan.steps) {
    ++n;
    out += "  " + std::to_string(n) + ". " + paint(StepSymbol(s), StepTone(s)) + " ";
    if (!s.blocked.empty()) out += paint("blocked", TextTone::kDanger) + " ";
    out += std::string(StepVerb(s)) + " " + std::string(ToString(s.resource.kind)) + " \"" +
           s.resource.name + "\"";
    if (!s.changes.empty()) {
      std::string impact(ToString(s.impact()));
      if (s.replace()) impact += ", replace";
      out += "  [" + paint(impact, ImpactTone(s.impact())) + "]";
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
      std::string impact(ToString(c.impact));
      if (c.replace) impact += ", replace";
      out += "      " + std::string(sign) + " " + c.path + ": " + ShownValue(c.before) + " -> " +
             ShownValue(c.after) + "  [" + paint(impact, ImpactTone(c.impact)) + "]\n";
    }
    if (!s.blocked.empty()) out += "      blocked: " + ShownText(s.blocked) + "\n";
    if (!s.waiting_for.empty()) out += "      waiting for: " + ShownText(s.waiting_for) + "\n";
    out += "\n";
  }
  const Summary sum = plan.summary();
  out += paint("Plan:", TextTone::kStrong) + " " + std::to_string(sum.to_create) +
         " to create, " + std::to_string(sum.to_update) + " to update, ";
  if (sum.to_replace) out += std::to_string(sum.to_replace) + " to replace, ";
  if (sum.to_run) out += std::to_string(sum.to_run) + " to verify, ";
  if (sum.waiting) out += std::to_string(sum.waiting) + " waiting, ";
  out += std::to_string(sum.blocked) + " blocked.\n";
  return out;
}

std::string StepKind(const Step& s) {
  if (!s.kind.empty()) return s.kind;
  return std::string(ToString(s.resource.kind)) + "-" + std::string(ToString(s.action));
}

}  // namespace dbconnd::reconcilers
