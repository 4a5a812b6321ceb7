// YamlToJson: how other YAML formats (kubeconfig) reach the rest of the
// code without yaml-cpp.

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <string>

#include "config/yaml_json.h"

namespace dbconnd::config {
namespace {

namespace json = boost::json;

TEST_CASE("yaml to json: maps, lists and scalars as written", "[config][yaml-json]") {
  auto doc = YamlToJson(
      "kind: Config\n"
      "port: 8080\n"
      "insecure: true\n"
      "empty:\n"
      "clusters:\n"
      "  - name: a\n"
      "    cluster: {server: 'https://x'}\n");
  REQUIRE(doc.ok());
  const json::object& o = doc->as_object();
  CHECK(o.at("kind").as_string() == "Config");
  CHECK(o.at("port").as_string() == "8080");  // scalars stay text
  CHECK(o.at("insecure").as_string() == "true");
  CHECK(o.at("empty").is_null());
  const json::array& clusters = o.at("clusters").as_array();
  REQUIRE(clusters.size() == 1);
  CHECK(clusters[0].at("cluster").at("server").as_string() == "https://x");
}

TEST_CASE("yaml to json: aliases expand within the node budget", "[config][yaml-json]") {
  const std::string text =
      "a: &x [1, 2, 3]\n"
      "b: *x\n"
      "c: [*x, *x, *x]\n";
  auto doc = YamlToJson(text);
  REQUIRE(doc.ok());
  CHECK(doc->at("c").as_array().size() == 3);
  CHECK(doc->at("b").as_array().size() == 3);
  // Values counted, keys not: root 1, a 4, b 4, c 1 + 3 * 4 = 22 nodes.
  CHECK(YamlToJson(text, 22).ok());
  auto over = YamlToJson(text, 21);
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().message().find("YAML nodes") != std::string::npos);
}

TEST_CASE("yaml to json: a syntax error names where, not what", "[config][yaml-json]") {
  auto doc = YamlToJson("token: s3cret-value\nlist: [unclosed\n");
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().code() == StatusCode::kInvalidArgument);
  CHECK(doc.status().message().find("line") != std::string::npos);
  CHECK(doc.status().message().find("s3cret-value") == std::string::npos);
}

}  // namespace
}  // namespace dbconnd::config
