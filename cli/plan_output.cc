#include "cli/plan_output.h"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <ostream>

namespace dbconnd::cli {
namespace {

namespace json = boost::json;
using reconcilers::Diagnosis;
using reconcilers::Plan;
using reconcilers::Step;
using reconcilers::ShownText;
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

const char* ToneCode(reconcilers::TextTone tone) {
  switch (tone) {
    case reconcilers::TextTone::kStrong: return kBold;
    case reconcilers::TextTone::kGood: return kGreen;
    case reconcilers::TextTone::kCaution: return kYellow;
    case reconcilers::TextTone::kDanger: return kRed;
    case reconcilers::TextTone::kInfo: return kCyan;
  }
  return kReset;
}

json::object ResourceJson(const reconcilers::ResourceRef& r) {
  return json::object{{"kind", std::string(reconcilers::ToString(r.kind))}, {"name", r.name}};
}

json::array ProblemsJson(const std::vector<Diagnosis>& list) {
  json::array a;
  for (const auto& d : list) {
    a.emplace_back(json::object{{"code", d.code},
                                {"resource", ResourceJson(d.resource)},
                                {"problem", ShownText(d.problem)},
                                {"fix", ShownText(d.fix)}});
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
  return reconcilers::RenderText(plan, [style](std::string_view text, reconcilers::TextTone tone) {
    return Paint(style, ToneCode(tone), text);
  });
}

std::string RenderPlansText(const std::vector<IntentPlan>& plans, TextStyle style) {
  std::string out;
  int with_changes = 0;
  int errors = 0;
  for (const auto& p : plans) {
    if (!p.status.ok()) {
      ++errors;
      out += Paint(style, kBold, "Intent " + p.name) + " (" + p.file + ")\n" +
             Paint(style, kRed, "error: ") + ShownText(p.status.message()) + "\n\n";
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
      o["error"] = ShownText(p.status.message());
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
                                      {"kind", reconcilers::StepKind(s)},
                                      {"impact", std::string(reconcilers::ToString(s.impact()))},
                                      {"changes", std::move(changes)},
                                      {"dependsOn", std::move(deps)},
                                      {"blocked", ShownText(s.blocked)},
                                      {"waitingFor", ShownText(s.waiting_for)},
                                      {"reportOnly", s.report_only}});
    }
    steps_total += p.plan.steps.size();
    o["steps"] = std::move(steps);
    o["diagnoses"] = ProblemsJson(p.plan.diagnoses);
    o["findings"] = ProblemsJson(p.plan.findings);
    o["notes"] = ProblemsJson(p.plan.notes);
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
      out_ << "[" << steps_started_ << "] "
           << Paint(style_, ToneCode(reconcilers::StepTone(*s)), StepSymbol(*s)) << " "
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
             << ": " << ShownText(p.status.message()) << "\n";
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

}  // namespace dbconnd::cli

// ---- Markdown ------------------------------------------------------------------

namespace dbconnd::cli {
namespace {

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// The impact column of a step: its largest impact, and what stops it.
std::string StepImpact(const Step& s) {
  std::string out = s.changes.empty() ? std::string("—") : std::string(reconcilers::ToString(s.impact()));
  if (s.replace()) out += ", replace";
  if (!s.blocked.empty()) out += ", **blocked**";
  if (!s.waiting_for.empty()) out += ", waiting";
  if (s.report_only) out += ", report only";
  return out;
}

std::string ResourceCell(const reconcilers::ResourceRef& r) {
  return std::string(reconcilers::ToString(r.kind)) + " " + MarkdownText(r.name);
}

// A value as an inline code span: shown literally (no HTML, no mentions, no
// emphasis), newlines flattened, capped; the fence is longer than any run of
// backticks inside.
std::string Code(std::string_view value) {
  std::string text;
  size_t chars = 0;
  bool cut = false;
  for (char ch : value) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) {
      if (chars == kMarkdownMaxValue) {
        cut = true;
        break;
      }
      ++chars;
    }
    text += (c < 0x20 || c == 0x7f) ? ' ' : ch;
  }
  if (cut) text += "…";
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = text.empty() || text.front() == '`' || text.back() == '`' ||
                   text.front() == ' ' || text.back() == ' ';
  return fence + (pad ? " " : "") + text + (pad ? " " : "") + fence;
}

// Lines of the comment; `details` marks lines inside a <details> block so a
// cut can close it.
struct MdLines {
  struct Line {
    std::string text;
    bool in_details = false;
  };
  std::vector<Line> lines;
  bool in_details = false;
  void Add(std::string text) { lines.push_back({std::move(text), in_details}); }
  void OpenDetails(std::string summary) {
    Add("<details><summary>" + std::move(summary) + "</summary>");
    in_details = true;
    Add("");
  }
  void CloseDetails() {
    if (!lines.empty() && !lines.back().text.empty()) Add("");
    in_details = false;
    Add("</details>");
  }
};

void MdProblems(MdLines& md, std::string_view title, const std::vector<Diagnosis>& list) {
  if (list.empty()) return;
  md.Add("**" + std::string(title) + "**");
  md.Add("");
  for (const auto& d : list) {
    md.Add("- " + MarkdownText(d.problem) +
           (d.fix.empty() ? std::string() : " — fix: " + MarkdownText(d.fix)));
  }
  md.Add("");
}

void MdIntent(MdLines& md, const IntentPlan& p) {
  if (!p.status.ok()) {
    md.Add("### :x: Intent " + MarkdownText(p.name));
    md.Add("");
    md.Add("File " + MarkdownText(p.file) + ": **error**: " + MarkdownText(p.status.message()));
    md.Add("");
    return;
  }
  const Plan& plan = p.plan;
  const auto sum = plan.summary();
  std::string title = "### Intent " + MarkdownText(plan.intent) + " (project " +
                      MarkdownText(plan.project) + ", region " + MarkdownText(plan.region) + ")";
  md.Add(title);
  md.Add("");
  if (plan.report_only) {
    md.Add("> Report only (" + MarkdownText(plan.report_only_reason) +
           "): dbconnd will not change anything for this intent.");
    md.Add("");
  }
  if (plan.steps.empty()) {
    md.Add("No changes. Live state matches the intent.");
    md.Add("");
  } else {
    std::string counts = std::to_string(sum.to_create) + " to create, " +
                         std::to_string(sum.to_update) + " to update";
    if (sum.to_replace) counts += ", " + std::to_string(sum.to_replace) + " to replace";
    if (sum.to_run) counts += ", " + std::to_string(sum.to_run) + " to verify";
    if (sum.waiting) counts += ", " + std::to_string(sum.waiting) + " waiting";
    counts += ", " + std::to_string(sum.blocked) + " blocked.";
    md.Add("Changes, in execution order: " + counts);
    md.Add("");
    md.Add("| # | Resource | Action | Impact |");
    md.Add("|---|---|---|---|");
    int n = 0;
    for (const auto& s : plan.steps) {
      md.Add("| " + std::to_string(++n) + " | " + ResourceCell(s.resource) + " | " +
             std::string(StepVerb(s)) + " | " + StepImpact(s) + " |");
    }
    md.Add("");
  }
  size_t fields = 0;
  for (const auto& s : plan.steps) fields += s.changes.size();
  if (fields == 0 && plan.diagnoses.empty() && plan.findings.empty() &&
      std::none_of(plan.steps.begin(), plan.steps.end(),
                   [](const Step& s) { return !s.blocked.empty() || !s.waiting_for.empty(); })) {
    return;
  }
  md.OpenDetails("Details: " + Plural(fields, "field change", "field changes") + ", " +
                 Plural(plan.diagnoses.size(), "diagnosis", "diagnoses") + ", " +
                 Plural(plan.findings.size(), "finding", "findings"));
  int n = 0;
  for (const auto& s : plan.steps) {
    ++n;
    md.Add("**" + std::to_string(n) + ". " + std::string(StepVerb(s)) + " " +
           ResourceCell(s.resource) + "** (id " + Code(s.id) + ")");
    md.Add("");
    for (const auto& c : s.changes) {
      std::string impact(reconcilers::ToString(c.impact));
      if (c.replace) impact += ", replace";
      md.Add("- " + Code(c.path) + ": " + Code(ShownValue(c.before)) + " → " +
             Code(ShownValue(c.after)) + " (" + impact + ")");
    }
    if (!s.blocked.empty()) md.Add("- **blocked**: " + MarkdownText(s.blocked));
    if (!s.waiting_for.empty()) md.Add("- waiting for: " + MarkdownText(s.waiting_for));
    if (!s.depends_on.empty()) {
      std::string deps;
      for (const auto& d : s.depends_on) deps += (deps.empty() ? "" : ", ") + Code(d);
      md.Add("- after: " + deps);
    }
    md.Add("");
  }
  MdProblems(md, "Diagnosis", plan.diagnoses);
  MdProblems(md, "Security findings", plan.findings);
  md.CloseDetails();
  md.Add("");
}

}  // namespace

std::string MarkdownText(std::string_view value, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  bool cut = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    const bool continuation = (c & 0xC0) == 0x80;
    if (!continuation) {
      if (chars == max_chars) {
        cut = true;
        break;
      }
      ++chars;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '|': out += "\\|"; break;
      case '@': out += "&#64;"; break;  // no @mentions from a value
      case '#': out += "&#35;"; break;  // no issue references
      case '\\': case '`': case '*': case '_': case '[': case ']': case '~': case '!':
        out += '\\';
        out += static_cast<char>(c);
        break;
      case '\n': case '\r': case '\t': out += ' '; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += ' ';
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (cut) out += "…";
  return out;
}

std::string RenderPlansMarkdown(const std::vector<IntentPlan>& plans, size_t max_bytes) {
  size_t with_changes = 0, errors = 0, steps = 0, blocked = 0;
  for (const auto& p : plans) {
    if (!p.status.ok()) {
      ++errors;
      continue;
    }
    if (p.plan.HasChanges()) ++with_changes;
    steps += p.plan.steps.size();
    blocked += static_cast<size_t>(p.plan.summary().blocked);
  }
  MdLines md;
  md.Add(kMarkdownMarker);
  md.Add("## dbconnd plan");
  md.Add("");
  const char* icon = errors ? ":x:" : (blocked ? ":warning:" : (steps ? ":memo:" : ":white_check_mark:"));
  md.Add(std::string(icon) + " **" + Plural(plans.size(), "intent", "intents") + ": " +
         Plural(steps, "change", "changes") + " (in " + std::to_string(with_changes) +
         (with_changes == 1 ? " intent" : " intents") + "), " + std::to_string(blocked) +
         " blocked, " + Plural(errors, "error", "errors") + ".**");
  md.Add("");
  for (const auto& p : plans) MdIntent(md, p);

  std::string out;
  for (const auto& l : md.lines) out += l.text + "\n";
  if (out.size() <= max_bytes) return out;

  // Cut at a line so that the note (and a closing </details>) still fits.
  const std::string note =
      "\n---\n:scissors: **This plan is longer than a comment can hold (" +
      std::to_string(max_bytes) + " characters); the rest is cut.** Run `dbconnd plan PATH...` "
      "for the full text, or `dbconnd plan -o json PATH...` for every field.\n";
  const std::string close = "\n</details>\n";
  out.clear();
  bool open = false;
  for (const auto& l : md.lines) {
    const bool open_after = l.in_details || l.text.rfind("<details>", 0) == 0;
    const size_t need =
        out.size() + l.text.size() + 1 + (open_after ? close.size() : 0) + note.size();
    if (need > max_bytes) break;
    out += l.text + "\n";
    open = open_after;
  }
  if (open) out += close;
  out += note;
  return out;
}

}  // namespace dbconnd::cli
