// Serverless VPC Access API v1 over REST (REFERENCE.md §3). The connector ID
// goes in the connectorId query parameter, not the body.
#include "gcp/json_util.h"
#include "gcp/resource_names.h"
#include "gcp/rest_client.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

Connector ParseConnector(const json::value& v) {
  Connector out;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  wire::SetLocatedName(out, wire::Str(o, "name"));
  out.network = wire::Str(o, "network");
  out.ip_cidr_range = wire::Str(o, "ipCidrRange");
  out.state = wire::Str(o, "state");
  out.machine_type = wire::Str(o, "machineType");
  out.min_instances = static_cast<int>(wire::Int(o, "minInstances"));
  out.max_instances = static_cast<int>(wire::Int(o, "maxInstances"));
  out.min_throughput = static_cast<int>(wire::Int(o, "minThroughput"));
  out.max_throughput = static_cast<int>(wire::Int(o, "maxThroughput"));
  if (const auto* subnet = wire::Obj(o, "subnet")) {
    out.subnet_name = wire::Str(*subnet, "name");
    out.subnet_project = wire::Str(*subnet, "projectId");
  }
  return out;
}

class VpcAccessRest final : public VpcAccess, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<Connector>> GetConnector(std::string project, std::string region,
                                         std::string connector) override {
    std::string name =
        ConnectorName(EncodeSegment(project), EncodeSegment(region), EncodeSegment(connector));
    return rest_->CallParsed(ReadCall(Api::kVpcAccess, BuildUrl(root_, "v1/" + name),
                                      "vpcaccess connectors.get " + name, "connectors.get"),
                             ParseConnector);
  }

  Task<StatusOr<std::vector<Connector>>> ListConnectors(std::string project,
                                                        std::string region) override {
    std::string parent = Parent(project, region);
    return rest_->ListAll(ListCall(Api::kVpcAccess, BuildUrl(root_, "v1/" + parent + "/connectors"),
                                   "vpcaccess connectors.list " + parent, "connectors.list"),
                          "connectors", ParseConnector);
  }

  Task<StatusOr<Operation>> CreateConnector(Connector connector) override {
    json::object body;
    // A subnet replaces network + ipCidrRange (Google refuses both).
    if (!connector.subnet_name.empty()) {
      json::object subnet{{"name", connector.subnet_name}};
      if (!connector.subnet_project.empty()) subnet["projectId"] = connector.subnet_project;
      body["subnet"] = std::move(subnet);
    } else {
      body["network"] = connector.network;
      body["ipCidrRange"] = connector.ip_cidr_range;
    }
    if (connector.min_instances > 0) body["minInstances"] = connector.min_instances;
    if (connector.max_instances > 0) body["maxInstances"] = connector.max_instances;
    if (connector.min_throughput > 0) body["minThroughput"] = connector.min_throughput;
    if (connector.max_throughput > 0) body["maxThroughput"] = connector.max_throughput;
    if (!connector.machine_type.empty()) body["machineType"] = connector.machine_type;
    std::string parent = Parent(connector.project, connector.region);
    RestCall c = MutationCall(
        Api::kVpcAccess, "POST",
        BuildUrl(root_, "v1/" + parent + "/connectors", {{"connectorId", connector.name}}),
        "vpcaccess connectors.create " + connector.FullName(),
        "connectors.create");
    c.body = std::move(body);
    return rest_->CallForOperation(std::move(c), ParseLro<Api::kVpcAccess>);
  }

  Task<StatusOr<Operation>> DeleteConnector(std::string project, std::string region,
                                            std::string connector) override {
    std::string name =
        ConnectorName(EncodeSegment(project), EncodeSegment(region), EncodeSegment(connector));
    return rest_->CallForOperation(
        MutationCall(Api::kVpcAccess, "DELETE", BuildUrl(root_, "v1/" + name),
                     "vpcaccess connectors.delete " + name, "connectors.delete"),
        ParseLro<Api::kVpcAccess>);
  }

  Task<StatusOr<Operation>> PatchConnector(ConnectorPatch patch) override {
    const Connector& connector = patch.connector;
    json::object body;
    std::string mask;
    for (const auto& field : patch.update_mask) {
      if (field == "machineType") {
        body["machineType"] = connector.machine_type;
      } else if (field == "minInstances") {
        body["minInstances"] = connector.min_instances;
      } else if (field == "maxInstances") {
        body["maxInstances"] = connector.max_instances;
      } else {
        co_return InvalidArgumentError("connectors.patch cannot change " + field);
      }
      mask += (mask.empty() ? "" : ",") + field;
    }
    if (mask.empty()) co_return InvalidArgumentError("connectors.patch with nothing to change");
    std::string name = Parent(connector.project, connector.region) + "/connectors/" +
                       EncodeSegment(connector.name);
    RestCall c = MutationCall(Api::kVpcAccess, "PATCH",
                              BuildUrl(root_, "v1/" + name, {{"updateMask", mask}}),
                              "vpcaccess connectors.patch " + name, "connectors.patch");
    c.body = std::move(body);
    co_return co_await rest_->CallForOperation(std::move(c), ParseLro<Api::kVpcAccess>);
  }

  Task<StatusOr<Operation>> GetOperation(std::string name) override {
    return GetLongRunningOperation(Api::kVpcAccess, "v1", "vpcaccess", name);
  }

 private:
  static std::string Parent(const std::string& project, const std::string& region) {
    return EncodedLocationName(project, region);
  }
};

}  // namespace

std::unique_ptr<VpcAccess> MakeVpcAccessRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<VpcAccessRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
