// Service Networking API v1 over REST (REFERENCE.md §4): the peering that
// private services access needs. `network` takes the project NUMBER.
#include "gcp/json_util.h"
#include "gcp/resource_names.h"
#include "gcp/rest_client.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

std::string ConnectionsPath() { return "v1/" + ServiceNetworkingConnections(); }

PeeringConnection ParseConnection(const json::value& v) {
  PeeringConnection out;
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  out.network = wire::Str(o, "network");
  out.service = wire::Str(o, "service");
  out.peering = wire::Str(o, "peering");
  if (const auto* ranges = wire::Arr(o, "reservedPeeringRanges")) {
    for (const auto& r : *ranges) {
      if (r.is_string()) out.reserved_peering_ranges.emplace_back(r.get_string());
    }
  }
  return out;
}

class ServiceNetworkingRest final : public ServiceNetworking, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<std::vector<PeeringConnection>>> ListConnections(std::string network) override {
    return rest_->ListAll(ListCall(Api::kServiceNetworking,
                                   BuildUrl(root_, ConnectionsPath(), {{"network", network}}),
                                   "servicenetworking connections.list " + network,
                                   "connections.list"),
                          "connections", ParseConnection);
  }

  Task<StatusOr<Operation>> CreateConnection(PeeringConnection connection) override {
    json::array ranges;
    for (const auto& r : connection.reserved_peering_ranges) ranges.emplace_back(r);
    RestCall c = MutationCall(Api::kServiceNetworking, "POST", BuildUrl(root_, ConnectionsPath()),
                              "servicenetworking connections.create " + connection.network,
                              "connections.create");
    c.body = json::object{{"network", connection.network},
                          {"reservedPeeringRanges", std::move(ranges)}};
    return rest_->CallForOperation(std::move(c), ParseLro<Api::kServiceNetworking>);
  }

  Task<StatusOr<Operation>> GetOperation(std::string name) override {
    return GetLongRunningOperation(Api::kServiceNetworking, "v1", "servicenetworking", name);
  }

};

}  // namespace

std::unique_ptr<ServiceNetworking> MakeServiceNetworkingRest(std::shared_ptr<RestClient> rest,
                                                             std::string root) {
  return std::make_unique<ServiceNetworkingRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
