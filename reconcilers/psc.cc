#include "reconcilers/psc.h"

#include <algorithm>
#include <set>

#include "common/redact.h"
#include "gcp/resource_names.h"
#include "reconcilers/direct_vpc.h"

namespace dbconnd::reconcilers {

std::string PscStepId(std::string_view instance) { return "instance/" + std::string(instance) + "/psc"; }
std::string PscConsumersStepId(std::string_view instance) {
  return "instance/" + std::string(instance) + "/psc-consumers";
}
std::string PscAddressStepId(std::string_view address) { return "pscAddress/" + std::string(address); }
std::string PscEndpointStepId(std::string_view endpoint) { return "pscEndpoint/" + std::string(endpoint); }

std::string PscSubnetworkRef(const config::PscEndpoint& p) {
  return p.subnetwork.empty() ? p.network : p.subnetwork;
}

namespace {

// The part of a service attachment link from "projects/" on: Cloud SQL
// reports a partial path, a forwarding rule may hold a full URL.
std::string AttachmentKey(std::string_view link) {
  auto at = link.find("projects/");
  return std::string(at == std::string_view::npos ? link : link.substr(at));
}

bool Listed(const std::vector<std::string>& list, const config::Intent& intent) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& p) {
    return p == intent.project || (!intent.project_number.empty() && p == intent.project_number);
  });
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + CapForDisplay(s, 64);
  return out.empty() ? "(none)" : out;
}

class PscPlanner {
 public:
  PscPlanner(const config::Intent& in, const LiveState& live) : in_(in), live_(live) {}

  PscPlan Run() {
    PlanInstance();
    for (const auto& w : in_.workloads) {
      if (w.method != config::ConnectionMethod::kPsc || !w.psc) continue;
      if (out_.endpoints.contains(w.psc->endpoint)) continue;
      PlanEndpoint(*w.psc);
    }
    return std::move(out_);
  }

 private:
  bool HasStep(const std::string& id) const {
    return std::any_of(out_.steps.begin(), out_.steps.end(), [&](const Step& s) { return s.id == id; });
  }

  void Diag(std::string code, ResourceRef ref, std::string problem, std::string fix) {
    out_.diagnoses.push_back({std::move(code), std::move(ref), std::move(problem), std::move(fix)});
  }

  // The live resource `ref` names (`what`: "address NAME"), as observed.
  // nullptr when it does not exist (`*missing` set: it is to be created) or
  // could not be read (a note saying `grant`, and the endpoint blocked).
  template <typename T>
  const T* Read(const std::map<std::string, StatusOr<T>>& reads, const std::string& what,
                const ResourceRef& ref, std::string grant, PscEndpointState& st, bool* missing) {
    auto it = reads.find(ref.name);
    if (it == reads.end() || (!it->second.ok() && it->second.status().code() == StatusCode::kNotFound)) {
      *missing = true;
      return nullptr;
    }
    if (it->second.ok()) return &*it->second;
    const std::string problem = what + " in " + in_.project + "/" + in_.region + " could not be read (" +
                                RedactForDisplay(it->second.status().message()) + ")";
    out_.notes.push_back({"psc-endpoint-unknown", ref, problem, std::move(grant)});
    if (st.blocked.empty()) st.blocked = problem;
    return nullptr;
  }

  void PlanInstance() {
    if (!in_.instance.psc || !live_.instance) return;
    const config::Psc& want = *in_.instance.psc;
    const gcp::SqlInstance& inst = *live_.instance;
    const ResourceRef ref{ResourceKind::kInstance, in_.instance.name};
    if (inst.psc_enabled != want.enabled) {
      Step s;
      s.id = PscStepId(in_.instance.name);
      s.resource = ref;
      s.action = Action::kUpdate;
      // Turning PSC off closes every endpoint that connects through it.
      s.changes.push_back({"settings.ipConfiguration.pscConfig.pscEnabled", inst.psc_enabled ? "true" : "false",
                           want.enabled ? "true" : "false",
                           want.enabled ? Impact::kOnline : Impact::kConnectivityBreak, false});
      gcp::SqlInstancePatch p;
      p.settings_version = inst.settings_version;
      p.psc_enabled = want.enabled;
      s.payload = std::move(p);
      out_.steps.push_back(std::move(s));
    }
    if (!want.enabled) return;
    const std::set<std::string> have(inst.allowed_consumer_projects.begin(), inst.allowed_consumer_projects.end());
    const std::set<std::string> wanted(want.allowed_consumer_projects.begin(), want.allowed_consumer_projects.end());
    if (have != wanted) {
      Step s;
      s.id = PscConsumersStepId(in_.instance.name);
      s.resource = ref;
      s.action = Action::kUpdate;
      // A project taken off the list loses its endpoints.
      const bool removes = std::any_of(have.begin(), have.end(), [&](const std::string& p) { return !wanted.contains(p); });
      s.changes.push_back({"settings.ipConfiguration.pscConfig.allowedConsumerProjects",
                           Joined(inst.allowed_consumer_projects), Joined(want.allowed_consumer_projects),
                           removes ? Impact::kConnectivityBreak : Impact::kOnline, false});
      s.depends_on = {PscStepId(in_.instance.name)};
      gcp::SqlInstancePatch p;
      p.settings_version = inst.settings_version;
      p.allowed_consumer_projects = want.allowed_consumer_projects;
      s.payload = std::move(p);
      out_.steps.push_back(std::move(s));
    }
  }

  // The steps of the instance's half that exist in this plan.
  std::vector<std::string> InstanceSteps() const {
    std::vector<std::string> out;
    for (const auto& id : {PscStepId(in_.instance.name), PscConsumersStepId(in_.instance.name)}) {
      if (HasStep(id)) out.push_back(id);
    }
    return out;
  }

  void PlanEndpoint(const config::PscEndpoint& e) {
    PscEndpointState st;
    st.steps = InstanceSteps();
    const ResourceRef addr_ref{ResourceKind::kPscAddress, e.address};
    const ResourceRef rule_ref{ResourceKind::kPscEndpoint, e.endpoint};
    const std::string who = "PSC endpoint " + e.endpoint;

    // The consumer project (this intent's) must be allowed by the instance.
    const bool declared_allowed = in_.instance.psc && Listed(in_.instance.psc->allowed_consumer_projects, in_);
    if (!declared_allowed) {
      st.blocked = "project " + in_.project + " is not in spec.instance.psc.allowedConsumerProjects: instance " +
                   in_.instance.name + " would leave " + who + " PENDING and refuse its connections";
      Diag("psc-consumer-not-allowed", rule_ref, st.blocked,
           "add " + in_.project + " to spec.instance.psc.allowedConsumerProjects");
    }

    // Where the endpoint can be: the attachment's region, the declared network.
    if (live_.instance && !live_.instance->region.empty() && live_.instance->region != in_.region) {
      const std::string problem = who + " would be in region " + in_.region + " but instance " + in_.instance.name +
                                  "'s service attachment is in " + CapForDisplay(live_.instance->region, 64) +
                                  ": a PSC forwarding rule must be in its target's region";
      Diag("psc-endpoint-wrong-region", rule_ref, problem,
           "set spec.region to " + CapForDisplay(live_.instance->region, 64) +
               " (the endpoint and its workloads then live there), or use method privateIp");
      if (st.blocked.empty()) st.blocked = problem;
    }
    const std::string sub_ref = PscSubnetworkRef(e);
    if (auto it = live_.subnetworks.find(sub_ref); it != live_.subnetworks.end()) {
      const SubnetworkLocation loc = LocateSubnetwork(in_, sub_ref);
      if (!it->second.ok() && it->second.status().code() == StatusCode::kNotFound) {
        const std::string problem = "subnetwork " + loc.name + " of " + who + "'s address does not exist in " +
                                    loc.project + "/" + loc.region;
        Diag("psc-subnetwork-missing", addr_ref, problem,
             "name an existing subnetwork of network " + e.network + " in " + in_.region + " in psc.subnetwork");
        if (st.blocked.empty()) st.blocked = problem;
      } else if (it->second.ok()) {
        const std::string sn_region = CapForDisplay(ShortResourceName(it->second->region), 64);
        const std::string sn_network = CapForDisplay(ShortResourceName(it->second->network), 64);
        if (!sn_region.empty() && sn_region != in_.region) {
          const std::string problem = "subnetwork " + loc.name + " of " + who + " is in region " + sn_region +
                                      ", not " + in_.region + " where the instance's service attachment is";
          Diag("psc-endpoint-wrong-region", addr_ref, problem,
               "name a subnetwork of network " + e.network + " in " + in_.region + " in psc.subnetwork");
          if (st.blocked.empty()) st.blocked = problem;
        } else if (!sn_network.empty() && sn_network != e.network) {
          const std::string problem = "subnetwork " + loc.name + " of " + who + " belongs to network " + sn_network +
                                      ", not " + e.network + " that the workloads reach";
          Diag("psc-endpoint-wrong-network", addr_ref, problem,
               "name a subnetwork of network " + e.network + " in psc.subnetwork");
          if (st.blocked.empty()) st.blocked = problem;
        }
      }
    }

    // The address.
    bool addr_missing = false;
    const gcp::RegionAddress* addr =
        Read(live_.psc_addresses, "address " + e.address, addr_ref,
             "grant compute.addresses.get and compute.forwardingRules.get "
             "(roles/compute.networkViewer)",
             st, &addr_missing);
    if (addr) {
      st.ip = addr->address;
      const std::string net = CapForDisplay(ShortResourceName(addr->network.empty() ? addr->subnetwork : addr->network), 64);
      const std::string region = CapForDisplay(ShortResourceName(addr->region_url), 64);
      if (!region.empty() && region != in_.region) {
        const std::string problem = "address " + e.address + " is in region " + region + ", not " + in_.region;
        Diag("psc-endpoint-wrong-region", addr_ref, problem, "name another address in psc.address");
        if (st.blocked.empty()) st.blocked = problem;
      } else if (!addr->network.empty() && net != e.network) {
        const std::string problem = "address " + e.address + " of " + who + " is in network " + net + ", not " +
                                    e.network + ": the workloads could not reach the endpoint";
        Diag("psc-endpoint-wrong-network", addr_ref, problem,
             "name another address in psc.address (dbconnd never deletes addresses), or set psc.network: " + net);
        if (st.blocked.empty()) st.blocked = problem;
      } else if (!addr->address_type.empty() && addr->address_type != "INTERNAL") {
        const std::string problem = "address " + e.address + " is " + CapForDisplay(addr->address_type, 32) +
                                    "; a PSC endpoint needs an INTERNAL address";
        Diag("psc-address-external", addr_ref, problem, "name another address in psc.address");
        if (st.blocked.empty()) st.blocked = problem;
      }
    } else if (addr_missing) {
      Step s;
      s.id = PscAddressStepId(e.address);
      s.resource = addr_ref;
      s.action = Action::kCreate;
      const SubnetworkLocation loc = LocateSubnetwork(in_, sub_ref);
      gcp::RegionAddress a;
      a.project = in_.project;
      a.region = in_.region;
      a.name = e.address;
      a.address_type = "INTERNAL";
      a.subnetwork = "projects/" + loc.project + "/regions/" + loc.region + "/subnetworks/" + loc.name;
      s.changes.push_back({"addressType", "", "INTERNAL", Impact::kOnline, false});
      s.changes.push_back({"subnetwork", "", a.subnetwork, Impact::kOnline, false});
      s.depends_on = st.steps;
      s.blocked = st.blocked;
      s.payload = std::move(a);
      st.steps.push_back(s.id);
      out_.steps.push_back(std::move(s));
    }

    // The forwarding rule.
    const std::string attachment = live_.instance ? live_.instance->psc_service_attachment_link : std::string();
    bool rule_missing = false;
    const gcp::ForwardingRule* rule =
        Read(live_.psc_endpoints, "forwarding rule " + e.endpoint, rule_ref,
             "grant compute.forwardingRules.get (roles/compute.networkViewer)", st, &rule_missing);
    if (rule) {
      if (st.ip.empty()) st.ip = rule->ip_address;
      const std::string net = CapForDisplay(ShortResourceName(rule->network), 64);
      if (!rule->network.empty() && net != e.network) {
        const std::string problem = who + " is in network " + net + ", not " + e.network +
                                    ": the workloads could not reach it";
        Diag("psc-endpoint-wrong-network", rule_ref, problem,
             "name another endpoint in psc.endpoint (dbconnd never deletes forwarding rules), or set psc.network: " + net);
        if (st.blocked.empty()) st.blocked = problem;
      } else if (!attachment.empty() && AttachmentKey(rule->target) != AttachmentKey(attachment)) {
        const std::string problem = who + " targets " + CapForDisplay(rule->target, 200) + ", not instance " +
                                    in_.instance.name + "'s service attachment; the target of a PSC endpoint "
                                    "cannot be changed";
        Diag("psc-endpoint-wrong-target", rule_ref, problem,
             "name another endpoint in psc.endpoint, or delete this one yourself");
        if (st.blocked.empty()) st.blocked = problem;
      } else if (rule->psc_connection_status != "ACCEPTED") {
        const std::string status = rule->psc_connection_status.empty() ? std::string("unknown")
                                                                        : CapForDisplay(rule->psc_connection_status, 32);
        const bool live_allowed = live_.instance && Listed(live_.instance->allowed_consumer_projects, in_);
        if (!live_allowed && !HasStep(PscConsumersStepId(in_.instance.name)) && st.blocked.empty()) {
          const std::string problem = who + " is " + status + ": instance " + in_.instance.name +
                                      " does not allow consumer project " + in_.project;
          Diag("psc-consumer-not-allowed", rule_ref, problem,
               "add " + in_.project + " to spec.instance.psc.allowedConsumerProjects");
          st.blocked = problem;
        } else if (st.waiting.empty()) {
          st.waiting = who + " to be accepted by instance " + in_.instance.name + " (pscConnectionStatus " +
                       status + ")";
        }
      }
    } else if (rule_missing) {
      Step s;
      s.id = PscEndpointStepId(e.endpoint);
      s.resource = rule_ref;
      s.action = Action::kCreate;
      gcp::ForwardingRule r;
      r.project = in_.project;
      r.region = in_.region;
      r.name = e.endpoint;
      r.ip_address = "projects/" + in_.project + "/regions/" + in_.region + "/addresses/" + e.address;
      r.network = gcp::NetworkName(in_.project, e.network);
      r.target = attachment;
      s.changes.push_back({"IPAddress", "", r.ip_address, Impact::kOnline, false});
      s.changes.push_back({"network", "", r.network, Impact::kOnline, false});
      s.changes.push_back({"target", "", attachment.empty() ? "<service attachment of instance " + in_.instance.name + ">"
                                                            : attachment,
                           Impact::kOnline, false});
      s.depends_on = st.steps;
      s.blocked = st.blocked;
      if (attachment.empty() && s.blocked.empty()) {
        s.waiting_for = "the service attachment of instance " + in_.instance.name +
                        (HasStep(PscStepId(in_.instance.name)) ? " (published by step " + PscStepId(in_.instance.name) + ")"
                                                               : " (not reported yet: is PSC on?)");
      }
      s.payload = std::move(r);
      st.steps.push_back(s.id);
      out_.steps.push_back(std::move(s));
    }
    if (st.ip.empty() && st.blocked.empty()) {
      st.waiting = "the IP of " + who + (HasStep(PscAddressStepId(e.address))
                                             ? " (reserved by step " + PscAddressStepId(e.address) + ")"
                                             : " (not reported yet)");
    }
    out_.endpoints[e.endpoint] = std::move(st);
  }

  const config::Intent& in_;
  const LiveState& live_;
  PscPlan out_;
};

}  // namespace

PscPlan PlanPsc(const config::Intent& intent, const LiveState& live) { return PscPlanner(intent, live).Run(); }

}  // namespace dbconnd::reconcilers
