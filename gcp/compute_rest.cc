// Compute Engine v1 over REST, the two calls private services access needs:
// globalAddresses (the reserved peering range) and globalOperations.
#include "gcp/json_util.h"
#include "gcp/rest_client.h"
#include "gcp/status_mapping.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

GlobalAddress ParseAddress(const json::value& v, const std::string& project) {
  GlobalAddress out;
  out.project = project;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.name = wire::Str(o, "name");
  out.address = wire::Str(o, "address");
  out.prefix_length = static_cast<int>(wire::Int(o, "prefixLength"));
  out.network = wire::Str(o, "network");
  out.purpose = wire::Str(o, "purpose");
  out.address_type = wire::Str(o, "addressType");
  out.status = wire::Str(o, "status");
  return out;
}

// compute#operation: status PENDING/RUNNING/DONE; DONE + error.errors[] = failed.
Operation ParseComputeOperation(const json::value& v, const std::string& project) {
  Operation op;
  op.api = Api::kCompute;
  op.project = project;
  if (!v.is_object()) return op;
  const auto& o = v.get_object();
  op.name = wire::Str(o, "name");
  op.target = wire::Str(o, "targetLink");
  op.type = wire::Str(o, "operationType");
  op.done = wire::Str(o, "status") == "DONE";
  if (const auto* err = wire::Obj(o, "error")) {
    std::string message, code;
    if (const auto* errors = wire::Arr(*err, "errors")) {
      for (const auto& e : *errors) {
        if (!e.is_object()) continue;
        if (code.empty()) code = wire::Str(e.get_object(), "code");
        std::string m = wire::Str(e.get_object(), "message");
        if (!m.empty()) message += (message.empty() ? "" : "; ") + m;
      }
    }
    if (message.empty()) message = wire::Str(o, "httpErrorMessage");
    if (message.empty()) message = "operation failed";
    int http = static_cast<int>(wire::Int(o, "httpErrorStatusCode"));
    StatusCode code_enum = http > 0 ? CodeForHttpStatus(http) : StatusCode::kAborted;
    if (code_enum == StatusCode::kOk) code_enum = StatusCode::kAborted;
    op.error = Status(code_enum, RedactSecrets(message)).WithReason(code).WithHttpStatus(http);
    op.done = true;
  }
  return op;
}

// A regional compute#operation: its name carries the region
// ("regions/R/operations/NAME") so that the waiter polls regionOperations.
Operation ParseRegionOperation(const json::value& v, const std::string& project,
                               const std::string& region) {
  Operation op = ParseComputeOperation(v, project);
  if (!op.name.empty()) op.name = "regions/" + region + "/operations/" + op.name;
  return op;
}

RegionAddress ParseRegionAddress(const json::value& v, const std::string& project,
                                 const std::string& region) {
  RegionAddress out;
  out.project = project;
  out.region = region;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.name = wire::Str(o, "name");
  out.address = wire::Str(o, "address");
  out.address_type = wire::Str(o, "addressType");
  out.purpose = wire::Str(o, "purpose");
  out.subnetwork = wire::Str(o, "subnetwork");
  out.network = wire::Str(o, "network");
  out.region_url = wire::Str(o, "region");
  out.status = wire::Str(o, "status");
  if (const auto* users = wire::Arr(o, "users")) {
    for (const auto& u : *users) {
      if (u.is_string() && out.users.size() < 100) out.users.emplace_back(u.get_string());
    }
  }
  return out;
}

ForwardingRule ParseForwardingRule(const json::value& v, const std::string& project,
                                   const std::string& region) {
  ForwardingRule out;
  out.project = project;
  out.region = region;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.name = wire::Str(o, "name");
  out.ip_address = wire::Str(o, "IPAddress");
  out.network = wire::Str(o, "network");
  out.target = wire::Str(o, "target");
  out.region_url = wire::Str(o, "region");
  out.psc_connection_status = wire::Str(o, "pscConnectionStatus");
  out.psc_connection_id = wire::Str(o, "pscConnectionId");
  return out;
}

class ComputeRest final : public Compute {
 public:
  ComputeRest(std::shared_ptr<RestClient> rest, std::string root)
      : rest_(std::move(rest)), root_(std::move(root)) {}

  Task<StatusOr<GlobalAddress>> GetGlobalAddress(std::string project, std::string name) override {
    RestCall c;
    c.api = Api::kCompute;
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) +
                                "/global/addresses/" + EncodeSegment(name));
    c.what = "compute globalAddresses.get " + project + "/" + name;
    c.rpc = "globalAddresses.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseAddress(*reply, project);
  }

  Task<StatusOr<Operation>> InsertGlobalAddress(GlobalAddress address) override {
    json::object body;
    body["name"] = address.name;
    body["addressType"] = address.address_type.empty() ? "INTERNAL" : address.address_type;
    body["purpose"] = address.purpose.empty() ? "VPC_PEERING" : address.purpose;
    if (address.prefix_length > 0) body["prefixLength"] = address.prefix_length;
    body["network"] = address.network;
    if (!address.address.empty()) body["address"] = address.address;
    RestCall c;
    c.api = Api::kCompute;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "POST";
    std::vector<std::pair<std::string, std::string>> query;
    if (!address.request_id.empty()) query.emplace_back("requestId", address.request_id);
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(address.project) +
                                "/global/addresses",
                     query);
    c.body = std::move(body);
    c.what = "compute globalAddresses.insert " + address.project + "/" + address.name;
    c.rpc = "globalAddresses.insert";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseComputeOperation(*reply, address.project), "globalAddresses.insert");
  }

  Task<StatusOr<Subnetwork>> GetSubnetwork(std::string project, std::string region,
                                           std::string name) override {
    RestCall c;
    c.api = Api::kCompute;
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) + "/regions/" +
                                EncodeSegment(region) + "/subnetworks/" + EncodeSegment(name));
    c.what = "compute subnetworks.get " + project + "/" + region + "/" + name;
    c.rpc = "subnetworks.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    Subnetwork out;
    out.project = project;
    if (reply->is_object()) {
      const auto& o = reply->get_object();
      out.name = wire::Str(o, "name");
      out.region = wire::Str(o, "region");
      out.network = wire::Str(o, "network");
      out.ip_cidr_range = wire::Str(o, "ipCidrRange");
      out.purpose = wire::Str(o, "purpose");
    }
    co_return out;
  }

  Task<StatusOr<Operation>> GetGlobalOperation(std::string project,
                                               std::string operation) override {
    RestCall c;
    c.api = Api::kCompute;
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) +
                                "/global/operations/" + EncodeSegment(operation));
    c.what = "compute globalOperations.get " + project + "/" + operation;
    c.rpc = "globalOperations.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseComputeOperation(*reply, project);
  }

  // ---- Private Service Connect endpoints (regional) ----------------------

  Task<StatusOr<RegionAddress>> GetAddress(std::string project, std::string region,
                                           std::string name) override {
    RestCall c;
    c.api = Api::kCompute;
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) + "/regions/" +
                                EncodeSegment(region) + "/addresses/" + EncodeSegment(name));
    c.what = "compute addresses.get " + project + "/" + region + "/" + name;
    c.rpc = "addresses.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseRegionAddress(*reply, project, region);
  }

  Task<StatusOr<Operation>> InsertAddress(RegionAddress address) override {
    json::object body;
    body["name"] = address.name;
    body["addressType"] = address.address_type.empty() ? "INTERNAL" : address.address_type;
    if (!address.purpose.empty()) body["purpose"] = address.purpose;
    if (!address.subnetwork.empty()) body["subnetwork"] = address.subnetwork;
    if (!address.address.empty()) body["address"] = address.address;
    RestCall c;
    c.api = Api::kCompute;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "POST";
    std::vector<std::pair<std::string, std::string>> query;
    if (!address.request_id.empty()) query.emplace_back("requestId", address.request_id);
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(address.project) + "/regions/" +
                                EncodeSegment(address.region) + "/addresses",
                     query);
    c.body = std::move(body);
    c.what = "compute addresses.insert " + address.project + "/" + address.region + "/" + address.name;
    c.rpc = "addresses.insert";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseRegionOperation(*reply, address.project, address.region), "addresses.insert");
  }

  Task<StatusOr<ForwardingRule>> GetForwardingRule(std::string project, std::string region,
                                                   std::string name) override {
    RestCall c;
    c.api = Api::kCompute;
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) + "/regions/" +
                                EncodeSegment(region) + "/forwardingRules/" + EncodeSegment(name));
    c.what = "compute forwardingRules.get " + project + "/" + region + "/" + name;
    c.rpc = "forwardingRules.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseForwardingRule(*reply, project, region);
  }

  Task<StatusOr<Operation>> InsertForwardingRule(ForwardingRule rule) override {
    // A PSC endpoint: no loadBalancingScheme, ports or backend (REFERENCE.md §11).
    json::object body;
    body["name"] = rule.name;
    body["IPAddress"] = rule.ip_address;
    body["target"] = rule.target;
    if (!rule.network.empty()) body["network"] = rule.network;
    body["allowPscGlobalAccess"] = false;
    RestCall c;
    c.api = Api::kCompute;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "POST";
    std::vector<std::pair<std::string, std::string>> query;
    if (!rule.request_id.empty()) query.emplace_back("requestId", rule.request_id);
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(rule.project) + "/regions/" +
                                EncodeSegment(rule.region) + "/forwardingRules",
                     query);
    c.body = std::move(body);
    c.what = "compute forwardingRules.insert " + rule.project + "/" + rule.region + "/" + rule.name;
    c.rpc = "forwardingRules.insert";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseRegionOperation(*reply, rule.project, rule.region), "forwardingRules.insert");
  }

  Task<StatusOr<Operation>> GetRegionOperation(std::string project, std::string region,
                                               std::string operation) override {
    RestCall c;
    c.api = Api::kCompute;
    c.url = BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) + "/regions/" +
                                EncodeSegment(region) + "/operations/" + EncodeSegment(operation));
    c.what = "compute regionOperations.get " + project + "/" + region + "/" + operation;
    c.rpc = "regionOperations.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseRegionOperation(*reply, project, region);
  }

 private:
  std::shared_ptr<RestClient> rest_;
  std::string root_;
};

}  // namespace

std::unique_ptr<Compute> MakeComputeRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<ComputeRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
