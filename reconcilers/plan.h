#pragma once
// A Plan: the ordered, minimal set of changes that makes live state equal to
// one intent, plus what is wrong with live state right now.
//
// How plans are executed (level-triggered, re-plan after every step)
// ------------------------------------------------------------------
// ComputePlan(intent, live) is a pure function of a fresh snapshot. The acting
// layer never runs a whole plan from top to bottom. It loops:
//
//     observe (bulk list calls) -> ComputePlan -> execute the FIRST ready step
//     -> wait for its long-running operation -> observe again -> ...
//
// until no step is ready (converged, or only blocked/waiting steps left) or an
// iteration bound is hit. Consequences the rest of the design relies on:
//
// - A step that is in sync is simply absent. `depends_on` names step ids of
//   the same plan; a dependency absent from the plan is satisfied. So the
//   ordering edges need no memory between iterations.
// - Values that only exist after an earlier step (the instance's private IP
//   after privateNetwork is set) are not guessed. The step that needs one is
//   still listed, shows a placeholder in its changes, and has `waiting_for`
//   set; its payload must not be sent. After the earlier step runs, the
//   re-plan sees the real value and produces the real payload.
// - Payloads carry the version they were computed on (settingsVersion, etag).
//   They are only valid against the snapshot they came from, which is why only
//   the first ready step of a plan is executed before re-observing.
// - A crash between steps loses nothing: the next pass recomputes the same
//   plan minus what already happened. In sync means zero writes.
// - Make before break: the instance's public path (ipv4Enabled off, pruned
//   authorized networks) is a separate, last step that depends on every
//   workload step and, with policy.verify, on every verification step.
//
// Nothing here performs I/O. Secrets never appear in a Plan: env values are
// shown with passwords replaced by "***".

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gcp/types.h"

namespace dbconnd::reconcilers {

enum class ResourceKind {
  kPrivateServicesRange,  // Compute global address, purpose VPC_PEERING
  kServicePeering,        // Service Networking connection
  kConnector,             // Serverless VPC Access connector
  kInstance,              // Cloud SQL instance
  kJob,                   // Cloud Run job
  kService,               // Cloud Run service
  kPscAddress,            // Compute regional internal address of a PSC endpoint
  kPscEndpoint,           // Compute forwarding rule targeting the instance's service attachment
};
std::string_view ToString(ResourceKind k);  // "privateServicesRange", ...

struct ResourceRef {
  ResourceKind kind = ResourceKind::kInstance;
  std::string name;  // short name / ID
  friend bool operator==(const ResourceRef&, const ResourceRef&) = default;
};

// Ordered by severity: the impact of a step is the largest of its changes.
enum class Impact {
  kNone,               // cosmetic (a label)
  kOnline,             // applied without disturbing running clients
  kMayRestart,         // instance restart or new Cloud Run revision
  kConnectivityBreak,  // some client path stops working
  kIrreversible,       // cannot be undone (setting a private network)
};
std::string_view ToString(Impact i);  // "none", "online", "may-restart", ...

enum class Action {
  kCreate,   // insert a new resource (range, peering, connector)
  kUpdate,   // patch an existing resource
  kReplace,  // delete and recreate (connector network/range change)
  kRun,      // run a job to verify a change (policy.verify)
  kWait,     // nothing to send: a resource is settling (connector CREATING)
};
std::string_view ToString(Action a);  // "create", "update", ...

struct FieldChange {
  std::string path;    // e.g. "settings.ipConfiguration.authorizedNetworks[10.0.0.0/8]"
  std::string before;  // human readable, secrets redacted; "" = unset
  std::string after;
  Impact impact = Impact::kOnline;
  bool replace = false;  // only a delete + create can make this change
};

// What executing the step sends. monostate for kRun / kWait.
using Payload = std::variant<std::monostate, gcp::GlobalAddress, gcp::PeeringConnection,
                             gcp::Connector, gcp::SqlInstancePatch, gcp::RunWorkload,
                             gcp::RegionAddress, gcp::ForwardingRule,
                             gcp::ConnectorPatch>;

struct Step {
  std::string id;  // stable across passes: "instance/saleor-db-demo", "job/x", ...
  ResourceRef resource;
  Action action = Action::kUpdate;
  // What kind of move this is, when more specific than resource + action:
  // "connector-create", "connector-patch", "connector-replace",
  // "connector-wait", "connector-enforcement", "direct-vpc-switch".
  // Empty = StepKind() derives "<resource>-<action>".
  std::string kind;
  std::vector<FieldChange> changes;
  std::vector<std::string> depends_on;  // ids of steps in the same plan
  // Policy refused it (irreversible / replace not allowed, world-open
  // network, ...). Never executed; dependents never become ready.
  std::string blocked;
  // Transient: the step needs a value or state that a dependency or Google
  // will produce (private IP not assigned yet, instance in MAINTENANCE).
  std::string waiting_for;
  bool report_only = false;  // observe mode or paused: shown, never executed
  Payload payload;

  Impact impact() const;  // the largest impact of its changes
  bool replace() const;   // any change carries the replace marker
};

// A problem found in live state, in plain words, naming the resource and fix.
struct Diagnosis {
  std::string code;  // stable id, e.g. "public-ip-unreachable"
  ResourceRef resource;
  std::string problem;
  std::string fix;
};

struct Summary {
  int to_create = 0;
  int to_update = 0;
  int to_replace = 0;
  int to_run = 0;
  int waiting = 0;  // kWait steps and steps with waiting_for
  int blocked = 0;
  int report_only = 0;
};

struct Plan {
  std::string intent;  // metadata.name
  std::string project;
  std::string region;
  bool report_only = false;        // observe mode or paused
  std::string report_only_reason;  // "policy.mode is observe" / "paused"
  std::vector<Step> steps;         // topologically ordered
  std::vector<Diagnosis> diagnoses;
  std::vector<Diagnosis> findings;  // security
  // How each workload's application receives its credentials: the variable
  // carrying the password and the drivers that read it, or, for an IAM user,
  // what the application must use instead. Present whether or not anything
  // changes; never a password.
  std::vector<Diagnosis> notes;

  const Step* Find(std::string_view id) const;
  Summary summary() const;
  // True when live state differs from the intent (blocked steps included):
  // the "2 = changes pending" exit code of `dbconnd plan`.
  bool HasChanges() const { return !steps.empty(); }
};

// A step may execute now: it sends something, is neither blocked, waiting nor
// report-only, and each dependency is absent from the plan (already in sync).
bool IsReady(const Plan& plan, const Step& step);
// The step the acting layer executes next, or nullptr.
const Step* FirstReadyStep(const Plan& plan);
// Number of steps that would send a write in enforce mode once ready.
std::size_t CountActionable(const Plan& plan);

// Pieces shared by every plan renderer (RenderText below, the CLI's markdown
// and apply progress):
// "+", "~", "-/+", ">", "...", or "!" when blocked.
std::string_view StepSymbol(const Step& s);
// "create", "update", "replace", "run (verify)", "wait for".
std::string_view StepVerb(const Step& s);
// The step's kind for machine output (`plan -o json`): Step::kind, else
// "<resource kind>-<action>" ("job-update", "instance-update", ...).
std::string StepKind(const Step& s);
// A field value as shown in a plan: "(unset)" for empty.
std::string ShownValue(const std::string& value);
// A message as shown in a plan (it may quote values from Google): passwords
// masked, capped at 1,000 bytes.
std::string ShownText(std::string_view text);

// How a plan's text marks its pieces: headings, good news, caution, danger
// (blocked, breaking impacts), information. The CLI colours them.
enum class TextTone { kStrong, kGood, kCaution, kDanger, kInfo };
// Returns `text` marked up for `tone`.
using TextPainter = std::function<std::string(std::string_view text, TextTone tone)>;
// The tone of a step's symbol: danger when blocked, else by action.
TextTone StepTone(const Step& s);

// The text `dbconnd plan` prints for one intent: report-only notice,
// diagnoses, findings, credentials notes, the steps with their changes and
// the summary line. Values from Google are redacted and capped. Without a
// painter the text is plain.
std::string RenderText(const Plan& plan, const TextPainter& paint = nullptr);

}  // namespace dbconnd::reconcilers
