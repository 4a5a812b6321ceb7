#include "reconcilers/rollback.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>

#include "common/redact.h"
#include "reconcilers/diff.h"
#include "reconcilers/planner.h"

namespace dbconnd::reconcilers {
namespace {

namespace json = boost::json;
using Field = InstancePath::Field;

// Older journals hold display strings: strings were shown in quotes.
std::string Unquote(const std::string& v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// Absent before dbconnd's write: JSON null, or "" in an older journal.
bool Absent(const std::string& v) { return v.empty() || v == "null"; }

// An authorized network as journaled: {"value","name","expirationTime"}, or
// an older journal's display string "CIDR (label) until TIME".
std::optional<gcp::AclEntry> ParseAcl(const std::string& key, const std::string& v) {
  gcp::AclEntry e;
  if (!v.empty() && v.front() == '{') {
    json::error_code ec;
    json::value parsed = json::parse(v, ec);
    if (ec || !parsed.is_object()) return std::nullopt;
    const auto& o = parsed.as_object();
    auto str = [&o](const char* k) {
      const auto* x = o.if_contains(k);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    e.value = str("value");
    e.name = str("name");
    e.expiration_time = str("expirationTime");
    if (e.value.empty()) return std::nullopt;
    return e;
  }
  std::string rest = v;
  if (auto until = rest.rfind(" until "); until != std::string::npos) {
    e.expiration_time = rest.substr(until + 7);
    rest.resize(until);
  }
  if (auto lp = rest.find(" ("); lp != std::string::npos && rest.back() == ')') {
    e.name = rest.substr(lp + 2, rest.size() - lp - 3);
    rest.resize(lp);
  }
  if (rest != key) return std::nullopt;  // not a display string this version wrote
  e.value = key;
  return e;
}

bool SameKey(const std::string& value, const std::string& key) {
  return CapForDisplay(value, 64) == key;  // keys are written capped (diff.cc)
}

void Keep(Plan& plan, const RollbackTarget& t, const std::string& problem) {
  plan.notes.push_back({"rollback-kept", {ResourceKind::kInstance, t.instance}, problem, ""});
}

}  // namespace

config::Intent RollbackIntent(const RollbackTarget& target) {
  config::Intent intent;
  intent.name = kRollbackIntent;
  intent.project = target.project;
  intent.instance.name = target.instance;
  intent.policy.mode = config::PolicyMode::kEnforce;
  return intent;
}

Plan ComputeRollbackPlan(const RollbackTarget& t, const LiveState& live, bool report_only) {
  Plan plan;
  plan.intent = kRollbackIntent;
  plan.project = t.project;
  plan.report_only = report_only;
  if (report_only) plan.report_only_reason = "preview";
  if (!live.instance) {
    plan.diagnoses.push_back({"instance-not-found", {ResourceKind::kInstance, t.instance},
                              "instance " + t.instance + " does not exist in project " + t.project,
                              "nothing to restore onto"});
    return plan;
  }
  const gcp::SqlInstance& now = *live.instance;
  gcp::SqlInstance desired = now;
  for (const auto& [path_text, prior] : t.prior) {
    auto path = ParseInstancePath(path_text);
    if (!path) {
      Keep(plan, t, path_text + ": not a setting rollback restores (left as it is)");
      continue;
    }
    switch (path->field) {
      case Field::kPrivateNetwork:
      case Field::kAllocatedIpRange:
        Keep(plan, t, path_text + ": cannot be undone (Cloud SQL keeps a private network once "
                                  "set)");
        break;
      case Field::kIpv4Enabled:
        if (prior == "true" || prior == "false") {
          desired.ipv4_enabled = prior == "true";
        } else {
          Keep(plan, t, path_text + ": journaled value unreadable (left as it is)");
        }
        break;
      case Field::kSslMode:
        if (Absent(Unquote(prior))) {
          Keep(plan, t, path_text + ": was unset; Cloud SQL has no unset mode to go back to");
        } else {
          desired.ssl_mode = Unquote(prior);
        }
        break;
      case Field::kConnectorEnforcement: {
        // Unset before dbconnd's write behaves as NOT_REQUIRED, the value
        // Cloud SQL can be patched back to.
        const std::string v = Absent(Unquote(prior)) ? "NOT_REQUIRED" : Unquote(prior);
        if (v == "NOT_REQUIRED" || v == "REQUIRED") {
          desired.connector_enforcement = v;
        } else {
          Keep(plan, t, path_text + ": journaled value unreadable (left as it is)");
        }
        break;
      }
      case Field::kAuthorizedNetwork: {
        auto& nets = desired.authorized_networks;
        std::optional<gcp::AclEntry> entry;
        if (!Absent(prior)) {
          entry = ParseAcl(path->key, prior);
          if (!entry) {
            Keep(plan, t, path_text + ": journaled value unreadable (left as it is)");
            break;
          }
        }
        nets.erase(std::remove_if(nets.begin(), nets.end(),
                                  [&](const gcp::AclEntry& a) { return SameKey(a.value, path->key); }),
                   nets.end());
        if (entry) nets.push_back(*entry);
        break;
      }
      case Field::kDatabaseFlag: {
        auto& flags = desired.database_flags;
        flags.erase(std::remove_if(flags.begin(), flags.end(),
                                   [&](const gcp::DatabaseFlag& f) { return f.name == path->key; }),
                    flags.end());
        if (!Absent(prior)) flags.push_back({path->key, Unquote(prior)});
        break;
      }
    }
  }
  std::vector<FieldChange> changes = DiffInstance(desired, now);
  if (changes.empty()) return plan;
  Step step;
  step.id = InstanceStepId(t.instance);
  step.resource = {ResourceKind::kInstance, t.instance};
  step.action = Action::kUpdate;
  step.changes = std::move(changes);
  step.report_only = report_only;
  step.payload = MakeInstancePatch(desired, now);
  plan.steps.push_back(std::move(step));
  return plan;
}

gcp::Task<StatusOr<LiveState>> ObserveInstance(gcp::Clients clients, config::Intent intent) {
  LiveState live;
  live.observed_at = std::chrono::system_clock::now();
  auto instance = co_await clients.sql->GetInstance(intent.project, intent.instance.name);
  if (!instance.ok()) co_return instance.status();
  live.instance = std::move(*instance);
  co_return live;
}

}  // namespace dbconnd::reconcilers
