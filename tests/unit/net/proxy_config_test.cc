#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "common/base64.h"
#include "net/proxy_config.h"
#include "net/url.h"

namespace dbconnd::net {
namespace {

TEST_CASE("ParseUrl splits absolute URLs", "[url]") {
  auto u = ParseUrl("https://sqladmin.googleapis.com/v1/projects/p/instances?pageSize=10#frag");
  REQUIRE(u.ok());
  CHECK(u->scheme == "https");
  CHECK(u->host == "sqladmin.googleapis.com");
  CHECK(u->port == 443);
  CHECK_FALSE(u->has_port);
  CHECK(u->target == "/v1/projects/p/instances?pageSize=10");
  CHECK(u->Authority() == "sqladmin.googleapis.com:443");
  CHECK(u->HostHeader() == "sqladmin.googleapis.com");

  auto v6 = ParseUrl("http://[::1]:8080");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->target == "/");
  CHECK(v6->Authority() == "[::1]:8080");
  CHECK(v6->HostHeader() == "[::1]:8080");

  CHECK(ParseUrl("ftp://x/").status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseUrl("not a url").status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseUrl("http:///nohost").status().code() == StatusCode::kInvalidArgument);
  auto bad = ParseUrl("gopher://user:hunter2@host/");
  CHECK(bad.status().message().find("hunter2") == std::string::npos);
}

TEST_CASE("the metadata server never goes through a proxy", "[proxy]") {
  ProxyConfig c = ProxyConfig::FromValues("http://proxy.corp:3128", "http://proxy.corp:3128", "");
  REQUIRE(c.status().ok());
  CHECK_FALSE(c.ProxyFor("http", "169.254.169.254", 80).has_value());
  CHECK_FALSE(c.ProxyFor("http", "metadata.google.internal", 80).has_value());
  CHECK_FALSE(c.ProxyFor("http", "METADATA.google.internal.", 80).has_value());
  CHECK_FALSE(c.ProxyFor("https", "metadata.google.internal", 443).has_value());
  // Everything else still goes through it.
  CHECK(c.ProxyFor("https", "sqladmin.googleapis.com", 443).has_value());
  CHECK(c.ProxyFor("http", "169.254.169.253", 80).has_value());
  CHECK(c.ProxyFor("http", "metadata.google.internal.evil.com", 80).has_value());
  // A metadata host named by GCE_METADATA_HOST.
  CHECK(c.ProxyFor("http", "10.0.0.9", 80).has_value());
  c.AlwaysDirect("10.0.0.9");
  CHECK_FALSE(c.ProxyFor("http", "10.0.0.9", 80).has_value());
}

TEST_CASE("ProxyConfig reads the environment like curl", "[proxy]") {
  std::map<std::string, std::string> env;
  auto lookup = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };

  SECTION("nothing set means direct") {
    auto cfg = ProxyConfig::FromEnvironment(lookup);
    CHECK(cfg.status().ok());
    CHECK_FALSE(cfg.ProxyFor("https", "example.com", 443).has_value());
    CHECK_FALSE(cfg.ProxyFor("http", "example.com", 80).has_value());
  }
  SECTION("lower case wins over upper case, empty counts as unset") {
    env["HTTPS_PROXY"] = "http://upper:3128";
    env["https_proxy"] = "http://lower:3129";
    env["http_proxy"] = "";
    env["HTTP_PROXY"] = "plain:8080";
    auto cfg = ProxyConfig::FromEnvironment(lookup);
    auto p = cfg.ProxyFor("https", "example.com", 443);
    REQUIRE(p.has_value());
    CHECK(p->Authority() == "lower:3129");
    auto h = cfg.ProxyFor("http", "example.com", 80);
    REQUIRE(h.has_value());
    CHECK(h->Authority() == "plain:8080");
  }
  SECTION("credentials become a Basic Proxy-Authorization and stay out of Authority") {
    env["HTTPS_PROXY"] = "http://alice:s3cret@proxy.corp:3128";
    auto cfg = ProxyConfig::FromEnvironment(lookup);
    auto p = cfg.ProxyFor("https", "example.com", 443);
    REQUIRE(p.has_value());
    CHECK(p->authorization == "Basic YWxpY2U6czNjcmV0");
    CHECK(p->Authority() == "proxy.corp:3128");
  }
  SECTION("percent-encoded credentials are decoded") {
    env["HTTPS_PROXY"] = "http://al%40ice:p%3Ass@proxy:3128";
    auto p = ProxyConfig::FromEnvironment(lookup).ProxyFor("https", "x", 443);
    REQUIRE(p.has_value());
    CHECK(p->authorization == "Basic " + Base64Encode("al@ice:p:ss"));
  }
  SECTION("no port means curl's 1080") {
    env["HTTPS_PROXY"] = "proxy.corp";
    auto p = ProxyConfig::FromEnvironment(lookup).ProxyFor("https", "x", 443);
    REQUIRE(p.has_value());
    CHECK(p->port == 1080);
  }
  SECTION("an invalid proxy URL is an error that does not echo the URL") {
    env["HTTPS_PROXY"] = "socks5://bob:topsecret@proxy:1080";
    auto cfg = ProxyConfig::FromEnvironment(lookup);
    CHECK(cfg.status().code() == StatusCode::kInvalidArgument);
    CHECK(cfg.status().message().find("topsecret") == std::string::npos);
    CHECK(cfg.status().message().find("HTTPS_PROXY") != std::string::npos);
  }
}

struct BypassCase {
  const char* no_proxy;
  const char* host;
  uint16_t port;
  bool bypass;
};

TEST_CASE("NO_PROXY matching table", "[proxy]") {
  const BypassCase cases[] = {
      {"", "example.com", 443, false},
      {"*", "example.com", 443, true},
      {"*", "127.0.0.1", 80, true},
      {"example.com", "example.com", 443, true},
      {"example.com", "api.example.com", 443, true},
      {".example.com", "api.example.com", 443, true},
      {".example.com", "example.com", 443, true},
      {"example.com", "badexample.com", 443, false},
      {"example.com", "example.com.evil.net", 443, false},
      {"EXAMPLE.com", "Api.Example.COM", 443, true},
      {"example.com", "example.com.", 443, true},
      {"foo.com, example.com ,bar.com", "example.com", 443, true},
      {"foo.com example.com", "example.com", 443, true},
      {"example.com:8443", "example.com", 8443, true},
      {"example.com:8443", "example.com", 443, false},
      {"googleapis.com", "sqladmin.googleapis.com", 443, true},
      // Loopback is not implicitly direct (curl).
      {"example.com", "127.0.0.1", 80, false},
      {"example.com", "localhost", 80, false},
      {"localhost", "localhost", 80, true},
      {"127.0.0.1", "127.0.0.1", 4431, true},
      {"127.0.0.1", "127.0.0.2", 4431, false},
      {"127.0.0.1:4431", "127.0.0.1", 4431, true},
      {"127.0.0.1:4431", "127.0.0.1", 4432, false},
      {"10.0.0.0/8", "10.1.2.3", 443, true},
      {"10.0.0.0/8", "11.1.2.3", 443, false},
      {"192.168.1.0/24", "192.168.1.77", 443, true},
      {"192.168.1.0/24", "192.168.2.77", 443, false},
      {"::1", "::1", 443, true},
      {"[::1]:8080", "::1", 8080, true},
      {"[::1]:8080", "::1", 8081, false},
      {"fd00::/8", "fd12::1", 443, true},
      // An IP entry does not match names and vice versa.
      {"127.0.0.1", "localhost", 80, false},
  };
  for (const auto& c : cases) {
    INFO("NO_PROXY=\"" << c.no_proxy << "\" host=" << c.host << " port=" << c.port);
    auto cfg = ProxyConfig::FromValues("http://proxy:3128", "", c.no_proxy);
    CHECK(cfg.Bypass(c.host, c.port) == c.bypass);
    CHECK(cfg.ProxyFor("https", c.host, c.port).has_value() == !c.bypass);
  }
}

}  // namespace
}  // namespace dbconnd::net
