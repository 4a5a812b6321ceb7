#include "reconcilers/connector_options.h"

#include <cstdint>
#include <cstdio>

#include "common/redact.h"
#include "config/cidr.h"
#include "reconcilers/diff.h"

namespace dbconnd::reconcilers {
namespace {

std::string Quoted(const std::string& v) { return v.empty() ? std::string() : "\"" + v + "\""; }
std::string Num(int v) { return v > 0 ? std::to_string(v) : std::string(); }

std::string SubnetText(const std::string& name, const std::string& project) {
  if (name.empty()) return "";
  return project.empty() ? name : project + "/" + name;
}

// Whether the new connector could exist beside the old one: Serverless VPC
// Access refuses a range that overlaps another connector's in the same
// network, and a subnet that already holds a connector.
std::string CannotCoexist(const gcp::Connector& want, const gcp::Connector& old, const std::string& project) {
  if (!want.subnet_name.empty()) {
    const std::string want_host = want.subnet_project.empty() ? project : want.subnet_project;
    const std::string old_host = old.subnet_project.empty() ? project : old.subnet_project;
    if (want.subnet_name == old.subnet_name && want_host == old_host) {
      return "subnet " + want.subnet_name + " already holds connector " + old.name +
             ", and a subnet takes one connector; name another /28 subnet";
    }
    return "";
  }
  if (!old.subnet_name.empty() || NetworkShortName(want.network) != NetworkShortName(old.network)) return "";
  auto a = config::ParseIpv4Cidr(want.ip_cidr_range);
  auto b = config::ParseIpv4Cidr(old.ip_cidr_range);
  if (a.ok() && b.ok() && config::Overlaps(*a, *b)) {
    return "ipCidrRange " + want.ip_cidr_range + " overlaps " + old.ip_cidr_range + " of connector " + old.name +
           ", which stays (dbconnd never deletes a connector); pick an unused /28";
  }
  return "";
}

}  // namespace

gcp::Connector DesiredConnector(const config::Intent& intent, const std::string& name) {
  const config::Connector& c = *intent.connector;
  gcp::Connector want;
  want.project = intent.project;
  want.region = intent.region;
  want.name = name;
  if (c.subnet) {
    want.subnet_name = c.subnet->name;
    want.subnet_project = c.subnet->project_id;
  } else {
    want.network = c.network;
    want.ip_cidr_range = c.ip_cidr_range;
  }
  want.machine_type = c.machine_type;
  if (c.by_throughput()) {
    want.min_throughput = c.min_throughput;
    want.max_throughput = c.max_throughput;
  } else {
    want.min_instances = c.min_instances;
    want.max_instances = c.max_instances;
  }
  return want;
}

std::string ReplacementConnectorName(const config::Connector& c) {
  // FNV-1a over the fixed fields: a stable, short fingerprint.
  std::string key = c.network + "|" + c.ip_cidr_range + "|" + (c.subnet ? c.subnet->project_id : "") + "|" +
                    (c.subnet ? c.subnet->name : "") + "|" + std::to_string(c.min_throughput) + "|" +
                    std::to_string(c.max_throughput);
  uint32_t h = 2166136261u;
  for (unsigned char ch : key) {
    h ^= ch;
    h *= 16777619u;
  }
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(h & 0xffffu));
  // "-" + 4 digits counts 6: the base may count 14 (each hyphen twice).
  std::string base;
  size_t cost = 0;
  for (char ch : c.name) {
    const size_t add = ch == '-' ? 2 : 1;
    if (cost + add > 14) break;
    base += ch;
    cost += add;
  }
  while (!base.empty() && base.back() == '-') base.pop_back();
  if (base.empty()) base = "c";
  return base + "-" + suffix;
}

ConnectorDelta CompareConnector(const config::Connector& want, const gcp::Connector& live) {
  ConnectorDelta d;
  auto fixed = [&](const char* path, const std::string& before, const std::string& after) {
    d.fixed.push_back({path, before, after, Impact::kOnline, true});
  };
  // Values from Google: capped before they are shown.
  const std::string live_subnet =
      SubnetText(CapForDisplay(live.subnet_name, 64), CapForDisplay(live.subnet_project, 64));
  if (want.subnet) {
    const std::string want_subnet = SubnetText(want.subnet->name, want.subnet->project_id);
    // A subnet in the connector's own project may be reported without it.
    const bool same = live.subnet_name == want.subnet->name &&
                      (live.subnet_project == want.subnet->project_id ||
                       (want.subnet->project_id.empty() && live.subnet_project == live.project) ||
                       (live.subnet_project.empty() && want.subnet->project_id == live.project));
    if (!same) fixed("subnet", Quoted(live_subnet), Quoted(want_subnet));
  } else {
    if (!live.subnet_name.empty()) fixed("subnet", Quoted(live_subnet), "");
    if (NetworkShortName(want.network) != NetworkShortName(live.network)) {
      fixed("network", Quoted(CapForDisplay(live.network, 64)), Quoted(want.network));
    }
    if (want.ip_cidr_range != live.ip_cidr_range) {
      fixed("ipCidrRange", Quoted(CapForDisplay(live.ip_cidr_range, 64)), Quoted(want.ip_cidr_range));
    }
  }
  if (want.by_throughput()) {
    if (want.min_throughput != live.min_throughput) {
      fixed("minThroughput", Num(live.min_throughput), Num(want.min_throughput));
    }
    if (want.max_throughput != live.max_throughput) {
      fixed("maxThroughput", Num(live.max_throughput), Num(want.max_throughput));
    }
  } else {
    if (want.min_instances != live.min_instances) {
      d.patchable.push_back({"minInstances", Num(live.min_instances), Num(want.min_instances), Impact::kOnline, false});
      d.update_mask.push_back("minInstances");
    }
    if (want.max_instances != live.max_instances) {
      d.patchable.push_back({"maxInstances", Num(live.max_instances), Num(want.max_instances), Impact::kOnline, false});
      d.update_mask.push_back("maxInstances");
    }
  }
  if (!live.machine_type.empty() && want.machine_type != live.machine_type) {
    d.patchable.push_back({"machineType", Quoted(CapForDisplay(live.machine_type, 64)), Quoted(want.machine_type),
                           Impact::kOnline, false});
    d.update_mask.push_back("machineType");
  }
  return d;
}

ConnectorStepPlan PlanConnectorStep(const config::Intent& intent, const LiveState& live) {
  ConnectorStepPlan out;
  const config::Connector& c = *intent.connector;
  const std::string replacement = ReplacementConnectorName(c);
  const ResourceRef declared_ref{ResourceKind::kConnector, c.name};

  std::optional<ConnectorDelta> orig_delta;
  if (live.connector) orig_delta = CompareConnector(c, *live.connector);

  Step s;
  // The declared connector, in sync on its fixed fields (or absent with no
  // replacement either): it is the one in use.
  if (!live.connector && !live.replacement_connector) {
    s.id = "connector/" + c.name;
    s.kind = "connector-create";
    s.resource = declared_ref;
    s.action = Action::kCreate;
    gcp::Connector want = DesiredConnector(intent, c.name);
    if (c.subnet) {
      s.changes.push_back({"subnet", "", Quoted(SubnetText(c.subnet->name, c.subnet->project_id)), Impact::kOnline,
                           false});
    } else {
      s.changes.push_back({"network", "", c.network, Impact::kOnline, false});
      s.changes.push_back({"ipCidrRange", "", c.ip_cidr_range, Impact::kOnline, false});
    }
    s.changes.push_back({"machineType", "", c.machine_type, Impact::kOnline, false});
    if (c.by_throughput()) {
      s.changes.push_back({"throughput", "", std::to_string(c.min_throughput) + ".." +
                                                 std::to_string(c.max_throughput) + " Mbps",
                           Impact::kOnline, false});
    } else {
      s.changes.push_back({"instances", "", std::to_string(c.min_instances) + ".." +
                                                std::to_string(c.max_instances),
                           Impact::kOnline, false});
    }
    s.payload = want;
    out.connector_name = c.name;
    out.step = std::move(s);
    return out;
  }

  const gcp::Connector* current = nullptr;
  if (live.connector && orig_delta->fixed.empty()) {
    current = &*live.connector;
    out.connector_name = c.name;
  } else if (live.replacement_connector) {
    current = &*live.replacement_connector;
    out.connector_name = replacement;
    const ConnectorDelta rd = CompareConnector(c, *current);
    if (!rd.fixed.empty()) {
      // Only a name collision of the fingerprint gets here.
      s.id = "connector/" + replacement;
      s.kind = "connector-replace";
      s.resource = {ResourceKind::kConnector, replacement};
      s.action = Action::kReplace;
      s.changes = rd.fixed;
      s.blocked = "connector " + replacement + " already exists with other fixed settings; delete it or rename "
                  "spec.connector.name";
      out.live = *current;
      out.step = std::move(s);
      return out;
    }
  } else {
    // Fixed fields differ and no replacement exists yet: a replace. Until
    // it is done the workloads still use the declared connector.
    out.connector_name = replacement;
    out.live = *live.connector;
    gcp::Connector want = DesiredConnector(intent, replacement);
    s.id = "connector/" + replacement;
    s.kind = "connector-replace";
    s.resource = {ResourceKind::kConnector, replacement};
    s.action = Action::kReplace;
    s.changes = orig_delta->fixed;
    s.changes.insert(s.changes.end(), orig_delta->patchable.begin(), orig_delta->patchable.end());
    s.payload = want;
    if (!intent.policy.allow_replace) {
      s.blocked = "changing a connector's " + s.changes.front().path +
                  " needs a new connector: dbconnd would create " + replacement +
                  ", move the workloads to it, and leave " + c.name +
                  " for you to delete; set policy.allowReplace: true to proceed";
    } else if (std::string why = CannotCoexist(want, *live.connector, intent.project); !why.empty()) {
      s.blocked = why;
    }
    out.step = std::move(s);
    return out;
  }

  out.live = *current;
  if (out.connector_name == replacement && live.connector) {
    out.notes.push_back({"connector-replaced", declared_ref,
                         "connector " + c.name + " was replaced by " + replacement +
                             " (its network, range, subnet or throughput cannot change in place); this "
                             "intent's workloads use " + replacement,
                         "dbconnd never deletes connectors: delete " + c.name +
                             " yourself once nothing uses it (gcloud compute networks vpc-access connectors "
                             "delete " + c.name + " --region " + intent.region + ")"});
  }
  s.id = "connector/" + out.connector_name;
  s.resource = {ResourceKind::kConnector, out.connector_name};
  if (current->state == "ERROR") {
    s.kind = "connector-wait";
    s.action = Action::kWait;
    s.blocked = "connector " + out.connector_name + " is in state ERROR; delete it by hand (gcloud compute "
                "networks vpc-access connectors delete " + out.connector_name + ") so dbconnd recreates it";
    out.step = std::move(s);
    return out;
  }
  if (current->state == "CREATING" || current->state == "UPDATING" || current->state == "DELETING") {
    s.kind = "connector-wait";
    s.action = Action::kWait;
    s.waiting_for = "connector " + out.connector_name + " is " + CapForDisplay(current->state, 32) + ", not READY";
    out.step = std::move(s);
    return out;
  }
  const ConnectorDelta delta = CompareConnector(c, *current);
  if (delta.update_mask.empty()) return out;
  s.kind = "connector-patch";
  s.action = Action::kUpdate;
  s.changes = delta.patchable;
  gcp::ConnectorPatch patch;
  patch.connector = DesiredConnector(intent, out.connector_name);
  patch.update_mask = delta.update_mask;
  s.payload = std::move(patch);
  out.step = std::move(s);
  return out;
}

}  // namespace dbconnd::reconcilers
