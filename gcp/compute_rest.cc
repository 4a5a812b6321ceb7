// Compute Engine v1 over REST: what private services access needs
// (globalAddresses, the reserved peering range, and globalOperations) and
// what a Private Service Connect endpoint needs (regional addresses,
// forwardingRules, regionOperations; subnetworks.get).
#include "gcp/json_util.h"
#include "gcp/resource_names.h"
#include "gcp/rest_client.h"
#include "gcp/status_mapping.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

// Where a Compute resource lives: a project's global collections, or one
// region's. Neither is in a reply's short names: both ride along.
struct Scope {
  std::string project;
  std::string region;  // empty: global

  // ComputeScopeName with the segments encoded.
  std::string Path() const {
    return ComputeScopeName(EncodeSegment(project), EncodeSegment(region));
  }
  // "P/NAME" or "P/R/NAME", for messages.
  std::string Named(const std::string& name) const {
    return project + "/" + (region.empty() ? "" : region + "/") + name;
  }
};

GlobalAddress ParseAddress(const json::value& v, const Scope& scope) {
  GlobalAddress out;
  out.project = scope.project;
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

// compute#operation: a failed one says more in httpErrorStatusCode and
// httpErrorMessage.
Status ComputeOperationFailure(const json::object& o, OperationErrors errors) {
  std::string message = std::move(errors.message);
  if (message.empty()) message = wire::Str(o, "httpErrorMessage");
  if (message.empty()) message = "operation failed";
  int http = static_cast<int>(wire::Int(o, "httpErrorStatusCode"));
  StatusCode code = http > 0 ? CodeForHttpStatus(http) : StatusCode::kAborted;
  if (code == StatusCode::kOk) code = StatusCode::kAborted;
  return Status(code, RedactSecrets(message)).WithReason(errors.code).WithHttpStatus(http);
}

// A regional operation's name carries the region
// ("regions/R/operations/NAME") so that the waiter polls regionOperations.
Operation ParseComputeOperation(const json::value& v, const Scope& scope) {
  Operation op = ParseStatusOperation(v, Api::kCompute, scope.project, "targetLink",
                                      ComputeOperationFailure);
  if (!scope.region.empty() && !op.name.empty()) {
    op.name = "regions/" + scope.region + "/operations/" + op.name;
  }
  return op;
}

Subnetwork ParseSubnetwork(const json::value& v, const Scope& scope) {
  Subnetwork out;
  out.project = scope.project;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.name = wire::Str(o, "name");
  out.region = wire::Str(o, "region");
  out.network = wire::Str(o, "network");
  out.ip_cidr_range = wire::Str(o, "ipCidrRange");
  out.purpose = wire::Str(o, "purpose");
  return out;
}

RegionAddress ParseRegionAddress(const json::value& v, const Scope& scope) {
  RegionAddress out;
  out.project = scope.project;
  out.region = scope.region;
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

ForwardingRule ParseForwardingRule(const json::value& v, const Scope& scope) {
  ForwardingRule out;
  out.project = scope.project;
  out.region = scope.region;
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

class ComputeRest final : public Compute, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<GlobalAddress>> GetGlobalAddress(std::string project, std::string name) override {
    return Get({std::move(project), {}}, "addresses", std::move(name), "globalAddresses.get",
               ParseAddress);
  }

  Task<StatusOr<Operation>> InsertGlobalAddress(GlobalAddress address) override {
    json::object body;
    body["name"] = address.name;
    body["addressType"] = address.address_type.empty() ? "INTERNAL" : address.address_type;
    body["purpose"] = address.purpose.empty() ? "VPC_PEERING" : address.purpose;
    if (address.prefix_length > 0) body["prefixLength"] = address.prefix_length;
    body["network"] = address.network;
    if (!address.address.empty()) body["address"] = address.address;
    return Insert({address.project, {}}, "addresses", address.name, address.request_id,
                  std::move(body), "globalAddresses.insert");
  }

  Task<StatusOr<Subnetwork>> GetSubnetwork(std::string project, std::string region,
                                           std::string name) override {
    return Get({std::move(project), std::move(region)}, "subnetworks", std::move(name),
               "subnetworks.get", ParseSubnetwork);
  }

  Task<StatusOr<Operation>> GetGlobalOperation(std::string project,
                                               std::string operation) override {
    return Get({std::move(project), {}}, "operations", std::move(operation),
               "globalOperations.get", ParseComputeOperation);
  }

  // ---- Private Service Connect endpoints (regional) ----------------------

  Task<StatusOr<RegionAddress>> GetAddress(std::string project, std::string region,
                                           std::string name) override {
    return Get({std::move(project), std::move(region)}, "addresses", std::move(name),
               "addresses.get", ParseRegionAddress);
  }

  Task<StatusOr<Operation>> InsertAddress(RegionAddress address) override {
    json::object body;
    body["name"] = address.name;
    body["addressType"] = address.address_type.empty() ? "INTERNAL" : address.address_type;
    if (!address.purpose.empty()) body["purpose"] = address.purpose;
    if (!address.subnetwork.empty()) body["subnetwork"] = address.subnetwork;
    if (!address.address.empty()) body["address"] = address.address;
    return Insert({address.project, address.region}, "addresses", address.name,
                  address.request_id, std::move(body), "addresses.insert");
  }

  Task<StatusOr<ForwardingRule>> GetForwardingRule(std::string project, std::string region,
                                                   std::string name) override {
    return Get({std::move(project), std::move(region)}, "forwardingRules", std::move(name),
               "forwardingRules.get", ParseForwardingRule);
  }

  Task<StatusOr<Operation>> InsertForwardingRule(ForwardingRule rule) override {
    // A PSC endpoint: no loadBalancingScheme, ports or backend (REFERENCE.md §11).
    json::object body;
    body["name"] = rule.name;
    body["IPAddress"] = rule.ip_address;
    body["target"] = rule.target;
    if (!rule.network.empty()) body["network"] = rule.network;
    body["allowPscGlobalAccess"] = false;
    return Insert({rule.project, rule.region}, "forwardingRules", rule.name, rule.request_id,
                  std::move(body), "forwardingRules.insert");
  }

  Task<StatusOr<Operation>> GetRegionOperation(std::string project, std::string region,
                                               std::string operation) override {
    return Get({std::move(project), std::move(region)}, "operations", std::move(operation),
               "regionOperations.get", ParseComputeOperation);
  }

 private:
  // compute/v1/<scope>/<rest>, with ?requestId= when one is given.
  std::string Url(const Scope& scope, const std::string& rest,
                  const std::string& request_id = {}) const {
    std::vector<std::pair<std::string, std::string>> query;
    if (!request_id.empty()) query.emplace_back("requestId", request_id);
    return BuildUrl(root_, "compute/v1/" + scope.Path() + "/" + rest, query);
  }

  // <collection>.get of NAME in `scope`, decoded by `parse`; `rpc` is a
  // string literal ("addresses.get") and names the call in messages too.
  template <typename T>
  Task<StatusOr<T>> Get(Scope scope, std::string_view collection, std::string name,
                        std::string_view rpc, T (*parse)(const json::value&, const Scope&)) {
    RestCall c =
        ReadCall(Api::kCompute, Url(scope, std::string(collection) + "/" + EncodeSegment(name)),
                 "compute " + std::string(rpc) + " " + scope.Named(name), rpc);
    return rest_->CallParsed(std::move(c), [scope = std::move(scope), parse](const json::value& v) {
      return parse(v, scope);
    });
  }

  // <collection>.insert of NAME in `scope` (POST of `body` to the
  // collection), answered by an operation of the same scope.
  Task<StatusOr<Operation>> Insert(Scope scope, std::string_view collection,
                                   const std::string& name, const std::string& request_id,
                                   json::object body, std::string_view rpc) {
    RestCall c =
        MutationCall(Api::kCompute, "POST", Url(scope, std::string(collection), request_id),
                     "compute " + std::string(rpc) + " " + scope.Named(name), rpc);
    c.body = std::move(body);
    return rest_->CallForOperation(std::move(c), [scope = std::move(scope)](const json::value& v) {
      return ParseComputeOperation(v, scope);
    });
  }
};

}  // namespace

std::unique_ptr<Compute> MakeComputeRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<ComputeRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
