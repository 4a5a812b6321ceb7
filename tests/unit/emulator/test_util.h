#pragma once
// Helpers for driving the emulator model directly with a virtual clock.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "emulator/emulator.h"

namespace dbconnd::emulator::testing {

inline constexpr char kProject[] = "melodic-now-463704-k1";
inline constexpr char kInstancePath[] = "/v1/projects/melodic-now-463704-k1/instances/saleor-db-demo";
inline constexpr char kJobPath[] =
    "/v2/projects/melodic-now-463704-k1/locations/us-central1/jobs/saleor-migration-1751028053";

struct Reply {
  int status;
  boost::json::value body;
};

class Model {
 public:
  explicit Model(std::string seed = "incident", bool no_auth = true) {
    ModelOptions o;
    o.seed = std::move(seed);
    o.no_auth = no_auth;
    o.op_delay = std::chrono::milliseconds(200);
    auto e = Emulator::Create(o);
    REQUIRE(e.ok());
    emu = std::move(*e);
  }
  Reply Call(std::string method, std::string url, std::string body = "",
             std::vector<net::Header> headers = {}) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.headers.push_back({"Host", "127.0.0.1:1"});
    emu->DecideFaults(req);
    auto resp = emu->Handle(req, now);
    boost::system::error_code ec;
    auto v = boost::json::parse(resp.body, ec);
    return {resp.status, ec ? boost::json::value(resp.body) : v};
  }
  Reply Get(std::string url) { return Call("GET", std::move(url)); }
  void Advance(std::chrono::milliseconds d) { now += d; }

  std::unique_ptr<Emulator> emu;
  TimePoint now = TimePoint(std::chrono::seconds(1'800'000'000));
};

inline std::string S(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const boost::json::value* cur = &v;
  for (auto k : path) {
    if (!cur->is_object() || !cur->as_object().contains(k)) return "<missing>";
    cur = &cur->as_object().at(k);
  }
  if (cur->is_string()) return std::string(cur->as_string());
  return boost::json::serialize(*cur);
}

}  // namespace dbconnd::emulator::testing
