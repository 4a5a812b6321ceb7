// Service Networking API v1 over REST (REFERENCE.md §4): the peering that
// private services access needs. `network` takes the project NUMBER.
#include "gcp/json_util.h"
#include "gcp/rest_client.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

constexpr char kConnections[] = "v1/services/servicenetworking.googleapis.com/connections";

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

class ServiceNetworkingRest final : public ServiceNetworking {
 public:
  ServiceNetworkingRest(std::shared_ptr<RestClient> rest, std::string root)
      : rest_(std::move(rest)), root_(std::move(root)) {}

  Task<StatusOr<std::vector<PeeringConnection>>> ListConnections(std::string network) override {
    RestCall c;
    c.api = Api::kServiceNetworking;
    c.bucket = Bucket::kList;
    c.url = BuildUrl(root_, kConnections, {{"network", network}});
    c.what = "servicenetworking connections.list " + network;
    c.rpc = "connections.list";
    std::vector<PeeringConnection> out;
    std::function<void(const json::value&)> each = [&](const json::value& item) {
      out.push_back(ParseConnection(item));
    };
    Status listed = co_await rest_->ListEach(std::move(c), "connections", std::move(each));
    if (!listed.ok()) co_return listed;
    co_return out;
  }

  Task<StatusOr<Operation>> CreateConnection(PeeringConnection connection) override {
    json::array ranges;
    for (const auto& r : connection.reserved_peering_ranges) ranges.emplace_back(r);
    RestCall c;
    c.api = Api::kServiceNetworking;
    c.bucket = Bucket::kMutate;
    c.kind = CallKind::kMutation;
    c.method = "POST";
    c.url = BuildUrl(root_, kConnections);
    c.body = json::object{{"network", connection.network},
                          {"reservedPeeringRanges", std::move(ranges)}};
    c.what = "servicenetworking connections.create " + connection.network;
    c.rpc = "connections.create";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return StartedBy(ParseLongRunningOperation(*reply, Api::kServiceNetworking), "connections.create");
  }

  Task<StatusOr<Operation>> GetOperation(std::string name) override {
    RestCall c;
    c.api = Api::kServiceNetworking;
    c.url = BuildUrl(root_, "v1/" + name);
    c.what = "servicenetworking operations.get " + name;
    c.rpc = "operations.get";
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    co_return ParseLongRunningOperation(*reply, Api::kServiceNetworking);
  }

 private:
  std::shared_ptr<RestClient> rest_;
  std::string root_;
};

}  // namespace

std::unique_ptr<ServiceNetworking> MakeServiceNetworkingRest(std::shared_ptr<RestClient> rest,
                                                             std::string root) {
  return std::make_unique<ServiceNetworkingRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
