// Compute Engine v1 over REST, the two calls private services access needs:
// globalAddresses (the reserved peering range) and globalOperations.
#include "gcp/json_util.h"
#include "gcp/resource_names.h"
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
    auto [code, message] = ParseOperationErrors(*err);
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

// The project is not in the reply's short names: it rides along.
auto ComputeOperationParser(std::string project) {
  return [project = std::move(project)](const json::value& v) {
    return ParseComputeOperation(v, project);
  };
}

Subnetwork ParseSubnetwork(const json::value& v, const std::string& project) {
  Subnetwork out;
  out.project = project;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.name = wire::Str(o, "name");
  out.region = wire::Str(o, "region");
  out.network = wire::Str(o, "network");
  out.ip_cidr_range = wire::Str(o, "ipCidrRange");
  out.purpose = wire::Str(o, "purpose");
  return out;
}

// A regional compute#operation: its name carries the region
// ("regions/R/operations/NAME") so that the waiter polls regionOperations.
Operation ParseRegionOperation(const json::value& v, const std::string& project,
                               const std::string& region) {
  Operation op = ParseComputeOperation(v, project);
  if (!op.name.empty()) op.name = "regions/" + region + "/operations/" + op.name;
  return op;
}

auto RegionOperationParser(std::string project, std::string region) {
  return [project = std::move(project), region = std::move(region)](const json::value& v) {
    return ParseRegionOperation(v, project, region);
  };
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
    auto parse = [project](const json::value& v) { return ParseAddress(v, project); };
    return rest_->CallParsed(
        ReadCall(Api::kCompute,
                 BuildUrl(root_, "compute/v1/" + GlobalAddressName(EncodeSegment(project),
                                                                     EncodeSegment(name))),
                 "compute globalAddresses.get " + project + "/" + name, "globalAddresses.get"),
        std::move(parse));
  }

  Task<StatusOr<Operation>> InsertGlobalAddress(GlobalAddress address) override {
    json::object body;
    body["name"] = address.name;
    body["addressType"] = address.address_type.empty() ? "INTERNAL" : address.address_type;
    body["purpose"] = address.purpose.empty() ? "VPC_PEERING" : address.purpose;
    if (address.prefix_length > 0) body["prefixLength"] = address.prefix_length;
    body["network"] = address.network;
    if (!address.address.empty()) body["address"] = address.address;
    std::vector<std::pair<std::string, std::string>> query;
    if (!address.request_id.empty()) query.emplace_back("requestId", address.request_id);
    RestCall c = MutationCall(
        Api::kCompute, "POST",
        BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(address.project) +
                            "/global/addresses",
                 query),
        "compute globalAddresses.insert " + address.project + "/" + address.name,
        "globalAddresses.insert");
    c.body = std::move(body);
    return rest_->CallForOperation(std::move(c), ComputeOperationParser(address.project));
  }

  Task<StatusOr<Subnetwork>> GetSubnetwork(std::string project, std::string region,
                                           std::string name) override {
    auto parse = [project](const json::value& v) { return ParseSubnetwork(v, project); };
    return rest_->CallParsed(
        ReadCall(Api::kCompute,
                 BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) + "/regions/" +
                                     EncodeSegment(region) + "/subnetworks/" +
                                     EncodeSegment(name)),
                 "compute subnetworks.get " + project + "/" + region + "/" + name,
                 "subnetworks.get"),
        std::move(parse));
  }

  Task<StatusOr<Operation>> GetGlobalOperation(std::string project,
                                               std::string operation) override {
    return rest_->CallParsed(
        ReadCall(Api::kCompute,
                 BuildUrl(root_, "compute/v1/projects/" + EncodeSegment(project) +
                                     "/global/operations/" + EncodeSegment(operation)),
                 "compute globalOperations.get " + project + "/" + operation,
                 "globalOperations.get"),
        ComputeOperationParser(project));
  }

  // ---- Private Service Connect endpoints (regional) ----------------------

  Task<StatusOr<RegionAddress>> GetAddress(std::string project, std::string region,
                                           std::string name) override {
    auto parse = [project, region](const json::value& v) {
      return ParseRegionAddress(v, project, region);
    };
    return rest_->CallParsed(
        ReadCall(Api::kCompute, RegionalUrl(project, region, "addresses/" + EncodeSegment(name)),
                 "compute addresses.get " + project + "/" + region + "/" + name, "addresses.get"),
        std::move(parse));
  }

  Task<StatusOr<Operation>> InsertAddress(RegionAddress address) override {
    json::object body;
    body["name"] = address.name;
    body["addressType"] = address.address_type.empty() ? "INTERNAL" : address.address_type;
    if (!address.purpose.empty()) body["purpose"] = address.purpose;
    if (!address.subnetwork.empty()) body["subnetwork"] = address.subnetwork;
    if (!address.address.empty()) body["address"] = address.address;
    RestCall c = MutationCall(
        Api::kCompute, "POST",
        RegionalUrl(address.project, address.region, "addresses", address.request_id),
        "compute addresses.insert " + address.project + "/" + address.region + "/" + address.name,
        "addresses.insert");
    c.body = std::move(body);
    return rest_->CallForOperation(std::move(c),
                                   RegionOperationParser(address.project, address.region));
  }

  Task<StatusOr<ForwardingRule>> GetForwardingRule(std::string project, std::string region,
                                                   std::string name) override {
    auto parse = [project, region](const json::value& v) {
      return ParseForwardingRule(v, project, region);
    };
    return rest_->CallParsed(
        ReadCall(Api::kCompute,
                 RegionalUrl(project, region, "forwardingRules/" + EncodeSegment(name)),
                 "compute forwardingRules.get " + project + "/" + region + "/" + name,
                 "forwardingRules.get"),
        std::move(parse));
  }

  Task<StatusOr<Operation>> InsertForwardingRule(ForwardingRule rule) override {
    // A PSC endpoint: no loadBalancingScheme, ports or backend (REFERENCE.md §11).
    json::object body;
    body["name"] = rule.name;
    body["IPAddress"] = rule.ip_address;
    body["target"] = rule.target;
    if (!rule.network.empty()) body["network"] = rule.network;
    body["allowPscGlobalAccess"] = false;
    RestCall c = MutationCall(
        Api::kCompute, "POST",
        RegionalUrl(rule.project, rule.region, "forwardingRules", rule.request_id),
        "compute forwardingRules.insert " + rule.project + "/" + rule.region + "/" + rule.name,
        "forwardingRules.insert");
    c.body = std::move(body);
    return rest_->CallForOperation(std::move(c), RegionOperationParser(rule.project, rule.region));
  }

  Task<StatusOr<Operation>> GetRegionOperation(std::string project, std::string region,
                                               std::string operation) override {
    return rest_->CallParsed(
        ReadCall(Api::kCompute,
                 RegionalUrl(project, region, "operations/" + EncodeSegment(operation)),
                 "compute regionOperations.get " + project + "/" + region + "/" + operation,
                 "regionOperations.get"),
        RegionOperationParser(project, region));
  }

 private:
  // compute/v1/projects/P/regions/R/<rest>, with ?requestId= when one is given.
  std::string RegionalUrl(const std::string& project, const std::string& region,
                          const std::string& rest, const std::string& request_id = {}) const {
    std::vector<std::pair<std::string, std::string>> query;
    if (!request_id.empty()) query.emplace_back("requestId", request_id);
    return BuildUrl(root_,
                    "compute/v1/projects/" + EncodeSegment(project) + "/regions/" +
                        EncodeSegment(region) + "/" + rest,
                    query);
  }

  std::shared_ptr<RestClient> rest_;
  std::string root_;
};

}  // namespace

std::unique_ptr<Compute> MakeComputeRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<ComputeRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
