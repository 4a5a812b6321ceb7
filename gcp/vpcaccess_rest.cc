// Serverless VPC Access API v1 over REST (REFERENCE.md §3). The connector ID
// goes in the connectorId query parameter, not the body.
#include "gcp/json_util.h"
#include "gcp/rest_client.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

Connector ParseConnector(const json::value& v) {
  Connector out;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  std::string full = wire::Str(o, "name");
  out.project = wire::SegmentAfter(full, "projects");
  out.region = wire::SegmentAfter(full, "locations");
  out.name = wire::LastSegment(full);
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

class VpcAccessRest final : public VpcAccess {
 public:
  VpcAccessRest(std::shared_ptr<RestClient> rest, std::string root)
      : rest_(std::move(rest)), root_(std::move(root)) {}

  Task<StatusOr<Connector>> GetConnector(std::string project, std::string region,
                                         std::string connector) override {
    RestCall c;
    c.api = Api::kVpcAccess;
    std::string name = Parent(project, region) + "/connectors/" + EncodeSegment(connector);
    c.url = BuildUrl(root_, "v1/" + name);
    c.what = "vpcaccess connectors.get " + name;
    c.rpc = "connectors.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseConnector(*reply);
  }

  Task<StatusOr<std::vector<Connector>>> ListConnectors(std::string project,
                                                        std::string region) override {
    RestCall c;
    c.api = Api::kVpcAccess;
    c.bucket = Bucket::kList;
    std::string parent = Parent(project, region);
    c.url = BuildUrl(root_, "v1/" + parent + "/connectors");
    c.what = "vpcaccess connectors.list " + parent;
    c.rpc = "connectors.list";
    std::vector<Connector> out;
    std::function<void(const json::value&)> each = [&](const json::value& item) {
      out.push_back(ParseConnector(item));
    };
    Status listed = co_await rest_->ListEach(std::move(c), "connectors", std::move(each));
    if (!listed.ok()) co_return listed;
    co_return out;
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
    RestCall c;
    c.api = Api::kVpcAccess;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "POST";
    std::string parent = Parent(connector.project, connector.region);
    c.url = BuildUrl(root_, "v1/" + parent + "/connectors", {{"connectorId", connector.name}});
    c.body = std::move(body);
    c.what = "vpcaccess connectors.create " + parent + "/connectors/" + connector.name;
    c.rpc = "connectors.create";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseLongRunningOperation(*reply, Api::kVpcAccess), "connectors.create");
  }

  Task<StatusOr<Operation>> DeleteConnector(std::string project, std::string region,
                                            std::string connector) override {
    RestCall c;
    c.api = Api::kVpcAccess;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "DELETE";
    std::string name = Parent(project, region) + "/connectors/" + EncodeSegment(connector);
    c.url = BuildUrl(root_, "v1/" + name);
    c.what = "vpcaccess connectors.delete " + name;
    c.rpc = "connectors.delete";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseLongRunningOperation(*reply, Api::kVpcAccess), "connectors.delete");
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
    RestCall c;
    c.api = Api::kVpcAccess;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "PATCH";
    std::string name = Parent(connector.project, connector.region) + "/connectors/" +
                       EncodeSegment(connector.name);
    c.url = BuildUrl(root_, "v1/" + name, {{"updateMask", mask}});
    c.body = std::move(body);
    c.what = "vpcaccess connectors.patch " + name;
    c.rpc = "connectors.patch";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseLongRunningOperation(*reply, Api::kVpcAccess), "connectors.patch");
  }

  Task<StatusOr<Operation>> GetOperation(std::string name) override {
    RestCall c;
    c.api = Api::kVpcAccess;
    c.url = BuildUrl(root_, "v1/" + name);
    c.what = "vpcaccess operations.get " + name;
    c.rpc = "operations.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseLongRunningOperation(*reply, Api::kVpcAccess);
  }

 private:
  static std::string Parent(const std::string& project, const std::string& region) {
    return "projects/" + EncodeSegment(project) + "/locations/" + EncodeSegment(region);
  }
  std::shared_ptr<RestClient> rest_;
  std::string root_;
};

}  // namespace

std::unique_ptr<VpcAccess> MakeVpcAccessRest(std::shared_ptr<RestClient> rest, std::string root) {
  return std::make_unique<VpcAccessRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
