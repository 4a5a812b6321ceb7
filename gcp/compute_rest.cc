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

 private:
  std::shared_ptr<RestClient> rest_;
  std::string root_;
};

}  // namespace

std::unique_ptr<Compute> MakeComputeRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<ComputeRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
