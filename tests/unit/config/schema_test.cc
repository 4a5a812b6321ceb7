// schema/dbconnd.schema.json is what editors' YAML language servers check
// against; it must accept exactly the keys the loader accepts.

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "config/loader.h"
#include "config/model.h"

namespace dbconnd::config {
namespace {

namespace json = boost::json;

json::value LoadSchema() {
  std::ifstream in(std::string(DBCONND_SOURCE_DIR) + "/schema/dbconnd.schema.json");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// Collects "a.b[].c" paths of every declared property; free-form maps
// (additionalProperties is a schema, no properties) are not descended.
void Walk(const json::object& node, const std::string& path, std::set<std::string>& out,
          std::vector<std::string>& open_objects) {
  if (auto* items = node.if_contains("items")) {
    Walk(items->as_object(), path + "[]", out, open_objects);
    return;
  }
  auto* props = node.if_contains("properties");
  if (!props) return;
  auto* extra = node.if_contains("additionalProperties");
  if (!extra || !extra->is_bool() || extra->as_bool()) open_objects.push_back(path);
  for (const auto& [key, child] : props->as_object()) {
    std::string p = path.empty() ? std::string(key) : path + "." + std::string(key);
    out.insert(p);
    Walk(child.as_object(), p, out, open_objects);
  }
}

const json::object& At(const json::value& schema, std::initializer_list<const char*> path) {
  const json::object* o = &schema.as_object();
  for (const char* p : path) {
    if (std::string_view(p) == "[]") {
      o = &o->at("items").as_object();
    } else {
      o = &o->at("properties").as_object().at(p).as_object();
    }
  }
  return *o;
}

std::set<std::string> Enum(const json::object& o) {
  std::set<std::string> out;
  for (const auto& v : o.at("enum").as_array()) out.insert(std::string(v.as_string()));
  return out;
}

TEST_CASE("JSON Schema and loader accept the same keys", "[config][schema]") {
  json::value schema = LoadSchema();
  std::set<std::string> in_schema;
  std::vector<std::string> open_objects;
  Walk(schema.as_object(), "", in_schema, open_objects);
  std::vector<std::string> loader_keys = KnownKeyPaths();
  std::set<std::string> in_loader(loader_keys.begin(), loader_keys.end());
  CHECK(in_loader.size() == loader_keys.size());  // no key listed twice
  for (const auto& k : in_loader) {
    INFO("loader accepts " << k << " but the schema does not declare it");
    CHECK(in_schema.count(k) == 1);
  }
  for (const auto& k : in_schema) {
    INFO("schema declares " << k << " but the loader rejects it");
    CHECK(in_loader.count(k) == 1);
  }
  // Editors must flag unknown keys the way `dbconnd validate` does.
  for (const auto& o : open_objects) {
    INFO("schema object " << (o.empty() ? "(root)" : o) << " allows unknown keys");
    CHECK(false);
  }
}

TEST_CASE("JSON Schema enums match the loader's spellings", "[config][schema]") {
  json::value schema = LoadSchema();
  CHECK(Enum(At(schema, {"spec", "instance", "sslMode"})) ==
        std::set<std::string>{std::string(ToString(SslMode::kAllowUnencryptedAndEncrypted)),
                              std::string(ToString(SslMode::kEncryptedOnly)),
                              std::string(ToString(SslMode::kTrustedClientCertificateRequired))});
  CHECK(Enum(At(schema, {"spec", "workloads", "[]", "method"})) ==
        std::set<std::string>{std::string(ToString(ConnectionMethod::kPrivateIp)),
                              std::string(ToString(ConnectionMethod::kCloudSqlSocket)),
                              std::string(ToString(ConnectionMethod::kPublicIp)),
                              std::string(ToString(ConnectionMethod::kPsc))});
  CHECK(Enum(At(schema, {"spec", "workloads", "[]", "egress"})) ==
        std::set<std::string>{std::string(ToString(VpcEgress::kPrivateRangesOnly)),
                              std::string(ToString(VpcEgress::kAllTraffic))});
  CHECK(Enum(At(schema, {"spec", "policy", "mode"})) ==
        std::set<std::string>{std::string(ToString(PolicyMode::kEnforce)),
                              std::string(ToString(PolicyMode::kObserve))});
  CHECK(At(schema, {"apiVersion"}).at("const").as_string() == kApiVersion);
  CHECK(At(schema, {"kind"}).at("const").as_string() == kKind);
}

}  // namespace
}  // namespace dbconnd::config
