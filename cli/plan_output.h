#pragma once
// How `dbconnd plan`, `apply` and `demo` show plans and live progress.
//
// Text: like a Terraform plan, colour only when asked (a TTY). JSON
// (`--output json`), formatVersion 1, documented in README.md:
//
//   {"formatVersion":1,
//    "intents":[{"name","file","project","region","mode","reportOnly","reportOnlyReason",
//                "error",               // present when observing failed
//                "steps":[{"id","resource":{"kind","name"},"action","impact",
//                          "changes":[{"path","before","after","impact","replace"}],
//                          "dependsOn":[ids],"blocked","waitingFor","reportOnly"}],
//                "diagnoses":[{"code","resource":{"kind","name"},"problem","fix"}],
//                "findings":[ same shape as diagnoses ],
//                "summary":{"create","update","replace","run","waiting","blocked",
//                           "reportOnly"}}],
//    "summary":{"intents","withChanges","errors","steps"}}
//
// Nothing rendered here holds a secret: plans carry redacted display strings.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "reconcilers/executor.h"
#include "reconcilers/plan.h"

namespace dbconnd::cli {

struct IntentPlan {
  std::string name;
  std::string file;
  Status status;               // observing failed: no plan
  reconcilers::Plan plan;
};

struct TextStyle {
  bool color = false;
};

// Whether to colour: stdout is a terminal, NO_COLOR unset, not disabled.
bool UseColor(const std::ostream& out, bool disabled);

std::string RenderPlanText(const reconcilers::Plan& plan, TextStyle style);
// Every intent, then "N intents: M with changes, E errors".
std::string RenderPlansText(const std::vector<IntentPlan>& plans, TextStyle style);
std::string RenderPlansJson(const std::vector<IntentPlan>& plans);

// `--output markdown`: a pull-request comment (GitHub- and GitLab-flavoured).
// It opens with kMarkdownMarker (an HTML comment CI scripts look for to
// update their one comment), then a summary line (intents, changes, blocked,
// errors), then per intent a table of steps (resource, action, impact) and a
// <details> block with every field change (before -> after), the diagnoses
// and the findings. Values are escaped for Markdown tables and HTML and cut
// at kMarkdownMaxValue characters; values hold no secret (plans carry
// redacted display strings). The whole text is at most `max_bytes` bytes
// (GitHub's comment limit is 65,536 characters, and a byte is never less than
// a character): beyond that it is cut at a line, any open <details> closed,
// and a note says how to see the rest.
inline constexpr char kMarkdownMarker[] = "<!-- dbconnd-plan -->";
inline constexpr size_t kMarkdownMaxBytes = 65536;
inline constexpr size_t kMarkdownMaxValue = 300;
std::string RenderPlansMarkdown(const std::vector<IntentPlan>& plans,
                                size_t max_bytes = kMarkdownMaxBytes);
// One value as Markdown text: escaped, newlines flattened, capped.
std::string MarkdownText(std::string_view value, size_t max_chars = kMarkdownMaxValue);

// Live apply progress: one line per step start/finish, and a "waiting for"
// line when the thing waited on changes or every `repeat` while it does not.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& out, TextStyle style,
                  std::chrono::milliseconds repeat = std::chrono::seconds(5));
  void operator()(const reconcilers::ApplyProgress& p);
  // A callback for ApplyOptions::progress; `this` must outlive the pass.
  std::function<void(const reconcilers::ApplyProgress&)> Callback();
  int steps_done() const { return steps_done_; }

 private:
  std::ostream& out_;
  TextStyle style_;
  std::chrono::milliseconds repeat_;
  std::string last_wait_;
  std::chrono::milliseconds last_wait_elapsed_{0};
  int steps_started_ = 0;
  int steps_done_ = 0;
};

// "12s", "1m05s", "850ms".
std::string FormatElapsed(std::chrono::milliseconds d);

}  // namespace dbconnd::cli
