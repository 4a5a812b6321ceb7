#include "gcp/rest_clients.h"

#include "gcp/rest_client.h"

namespace dbconnd::gcp {
namespace {

class RestClientsImpl final : public RestClients {
 public:
  RestClientsImpl(std::shared_ptr<RestClient> rest, std::shared_ptr<RateLimiter> limiter,
                  const Endpoints& endpoints)
      : limiter_(std::move(limiter)),
        sql_(MakeSqlAdminRest(rest, endpoints.sqladmin)),
        run_(MakeCloudRunRest(rest, endpoints.run)),
        vpc_(MakeVpcAccessRest(rest, endpoints.vpcaccess)),
        networking_(MakeServiceNetworkingRest(rest, endpoints.servicenetworking)),
        compute_(MakeComputeRest(rest, endpoints.compute)),
        secrets_(MakeSecretManagerRest(rest, endpoints.secretmanager)),
        resource_manager_(MakeResourceManagerRest(rest, endpoints.cloudresourcemanager)) {
    clients_ = Clients{sql_.get(),     run_.get(),     vpc_.get(),
                       networking_.get(), compute_.get(), secrets_.get(),
                       resource_manager_.get()};
  }

  const Clients& clients() const override { return clients_; }
  RateLimiter& rate_limiter() override { return *limiter_; }

 private:
  std::shared_ptr<RateLimiter> limiter_;
  std::unique_ptr<SqlAdmin> sql_;
  std::unique_ptr<CloudRun> run_;
  std::unique_ptr<VpcAccess> vpc_;
  std::unique_ptr<ServiceNetworking> networking_;
  std::unique_ptr<Compute> compute_;
  std::unique_ptr<SecretManager> secrets_;
  std::unique_ptr<ResourceManager> resource_manager_;
  Clients clients_;
};

}  // namespace

std::unique_ptr<RestClients> MakeRestClients(boost::asio::any_io_executor /*executor*/,
                                             std::shared_ptr<net::HttpClient> http,
                                             std::shared_ptr<TokenSource> tokens,
                                             Endpoints endpoints, RateLimits limits,
                                             RestOptions options) {
  // Every call runs on the executor of the coroutine that makes it; the
  // executor parameter pins the contract (all calls on the HTTP client's
  // executor) without the clients having to post anywhere themselves.
  auto limiter = std::make_shared<RateLimiter>(std::move(limits), options.clock, options.sleeper);
  auto rest = std::make_shared<RestClient>(std::move(http), std::move(tokens), limiter,
                                           std::move(options));
  return std::make_unique<RestClientsImpl>(std::move(rest), std::move(limiter), endpoints);
}

}  // namespace dbconnd::gcp
