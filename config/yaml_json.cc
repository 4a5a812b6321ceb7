#include "config/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <string>

namespace dbconnd::config {
namespace {

namespace json = boost::json;

// Recursion follows the parsed tree, whose depth yaml-cpp's parser bounds.
Status Convert(const YAML::Node& node, json::value& out, std::size_t& budget) {
  if (budget == 0) {
    return InvalidArgumentError("more than the allowed number of YAML nodes (aliases expanded)");
  }
  --budget;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out = nullptr;
      return Status();
    case YAML::NodeType::Scalar:
      out = json::string(node.Scalar());
      return Status();
    case YAML::NodeType::Sequence: {
      json::array& arr = out.emplace_array();
      for (const auto& item : node) {
        json::value v;
        if (Status s = Convert(item, v, budget); !s.ok()) return s;
        arr.push_back(std::move(v));
      }
      return Status();
    }
    case YAML::NodeType::Map: {
      json::object& obj = out.emplace_object();
      for (const auto& kv : node) {
        json::value v;
        if (Status s = Convert(kv.second, v, budget); !s.ok()) return s;
        obj[kv.first.Scalar()] = std::move(v);
      }
      return Status();
    }
  }
  return Status();
}

}  // namespace

StatusOr<json::value> YamlToJson(std::string_view text, std::size_t max_nodes) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    json::value out;
    std::size_t budget = max_nodes;
    if (Status s = Convert(root, out, budget); !s.ok()) return s;
    return out;
  } catch (const YAML::Exception& e) {
    // yaml-cpp messages carry line/column, not content.
    return InvalidArgumentError(e.what());
  }
}

}  // namespace dbconnd::config
