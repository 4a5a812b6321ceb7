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
    body["network"] = connector.network;
    body["ipCidrRange"] = connector.ip_cidr_range;
    if (connector.min_instances > 0) body["minInstances"] = connector.min_instances;
    if (connector.max_instances > 0) body["maxInstances"] = connector.max_instances;
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

  Task<StatusOr<Operation>> GetOperation(std::string name) override {
    return rest_->CallParsed(ReadCall(Api::kVpcAccess, BuildUrl(root_, "v1/" + name),
                                      "vpcaccess operations.get " + name, "operations.get"),
                             ParseLro<Api::kVpcAccess>);
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
