#include "emulator/schema.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace dbconnd::emulator {

namespace json = boost::json;

StatusOr<SchemaSet> SchemaSet::LoadEmbedded() {
  SchemaSet set;
  for (const auto& [name, text] : EmbeddedSchemaFiles()) {
    Status s = set.AddDocument(text);
    if (!s.ok()) return std::move(s).Annotate(std::string(name));
  }
  return set;
}

Status SchemaSet::AddDocument(std::string_view json_text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json_text, ec);
  if (ec || !doc.is_object()) return InvalidArgumentError("schema document is not JSON: " + ec.message());
  const auto* name = doc.as_object().if_contains("name");
  const auto* schemas = doc.as_object().if_contains("schemas");
  if (!name || !name->is_string() || !schemas || !schemas->is_object()) {
    return InvalidArgumentError("schema document lacks name/schemas");
  }
  // Two documents of one API (compute's global and regional halves) add up.
  auto& slot = docs_[std::string(name->as_string())];
  for (const auto& [k, v] : schemas->as_object()) slot.emplace(k, v);
  return OkStatus();
}

bool SchemaSet::Has(std::string_view api, std::string_view schema) const {
  auto it = docs_.find(api);
  return it != docs_.end() && it->second.contains(schema);
}

namespace {

bool IsOutputOnly(const json::object& prop) {
  if (const auto* ro = prop.if_contains("readOnly"); ro && ro->is_bool() && ro->as_bool()) return true;
  if (const auto* xb = prop.if_contains("x-behavior"); xb && xb->is_array()) {
    for (const auto& b : xb->as_array()) {
      if (b.is_string() && b.as_string() == "OUTPUT_ONLY") return true;
    }
  }
  return false;
}

std::string TypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: return "object";
    case json::kind::array: return "array";
    case json::kind::string: return "string";
    case json::kind::bool_: return "bool";
    case json::kind::null: return "null";
    default: return "number";
  }
}

Status Invalid(const std::string& path, const std::string& what) {
  return InvalidArgumentError("Invalid value at '" + path + "' (" + what + ")").WithHttpStatus(400).WithReason("invalid");
}

}  // namespace

Status SchemaSet::Walk(const json::object& schemas, const json::object& node_in, const json::value& in,
                       json::value* out, const std::string& path, int depth) const {
  if (depth > 64) return Invalid(path, "nesting too deep");
  const json::object* node = &node_in;
  if (const auto* ref = node->if_contains("$ref")) {
    const auto* target = schemas.if_contains(ref->as_string());
    if (!target) return OkStatus();  // unknown schema: accept, as a lenient server would
    node = &target->as_object();
  }
  if (in.is_null()) {
    if (out) *out = nullptr;
    return OkStatus();
  }
  std::string_view type;
  if (const auto* t = node->if_contains("type"); t && t->is_string()) type = t->as_string();
  if (type == "any" || type.empty()) {
    if (node->contains("properties")) type = "object";
    else {
      if (out) *out = in;
      return OkStatus();
    }
  }
  if (type == "object") {
    if (!in.is_object()) return Invalid(path, "TYPE_MESSAGE, got " + TypeName(in));
    const json::object* props = nullptr;
    if (const auto* p = node->if_contains("properties")) props = &p->as_object();
    const json::object* extra = nullptr;
    if (const auto* a = node->if_contains("additionalProperties"); a && a->is_object()) extra = &a->as_object();
    json::object result;
    for (const auto& [key, val] : in.as_object()) {
      std::string child = path.empty() ? std::string(key) : path + "." + std::string(key);
      const json::value* prop = props ? props->if_contains(key) : nullptr;
      if (prop && prop->is_object()) {
        if (IsOutputOnly(prop->as_object())) continue;  // ignored on input
        json::value sub;
        DBCONND_RETURN_IF_ERROR(Walk(schemas, prop->as_object(), val, out ? &sub : nullptr, child, depth + 1));
        if (out) result[key] = std::move(sub);
      } else if (extra) {
        json::value sub;
        DBCONND_RETURN_IF_ERROR(Walk(schemas, *extra, val, out ? &sub : nullptr, child, depth + 1));
        if (out) result[key] = std::move(sub);
      } else {
        return InvalidArgumentError("Invalid JSON payload received. Unknown name \"" + std::string(key) +
                                    "\" at '" + (path.empty() ? std::string("") : path) +
                                    "': Cannot find field.")
            .WithHttpStatus(400)
            .WithReason("invalid");
      }
    }
    if (out) *out = std::move(result);
    return OkStatus();
  }
  if (type == "array") {
    if (!in.is_array()) return Invalid(path, "TYPE_LIST, got " + TypeName(in));
    const auto* items = node->if_contains("items");
    json::array result;
    size_t i = 0;
    for (const auto& el : in.as_array()) {
      json::value sub;
      if (items && items->is_object()) {
        DBCONND_RETURN_IF_ERROR(Walk(schemas, items->as_object(), el, out ? &sub : nullptr,
                                     path + "[" + std::to_string(i) + "]", depth + 1));
      } else {
        sub = el;
      }
      if (out) result.push_back(std::move(sub));
      ++i;
    }
    if (out) *out = std::move(result);
    return OkStatus();
  }
  if (type == "string") {
    std::string_view format;
    if (const auto* f = node->if_contains("format"); f && f->is_string()) format = f->as_string();
    // int64/uint64 travel as strings, but Google also accepts bare numbers.
    bool numeric_ok = (format == "int64" || format == "uint64") && (in.is_int64() || in.is_uint64());
    if (!in.is_string() && !numeric_ok) return Invalid(path, "TYPE_STRING, got " + TypeName(in));
    if (const auto* e = node->if_contains("enum"); e && e->is_array() && in.is_string()) {
      bool found = false;
      for (const auto& v : e->as_array()) found = found || v == in;
      if (!found) {
        return InvalidArgumentError("Invalid value at '" + path + "' (TYPE_ENUM), \"" +
                                    std::string(in.as_string()) + "\"")
            .WithHttpStatus(400)
            .WithReason("invalid");
      }
    }
    if (out) *out = numeric_ok ? json::value(json::serialize(in)) : in;
    return OkStatus();
  }
  if (type == "integer" || type == "number") {
    bool ok = in.is_number();
    if (in.is_string()) {
      // Proto3 JSON accepts numbers in strings.
      const auto& s = in.as_string();
      ok = !s.empty() && s.find_first_not_of("-0123456789.eE+") == json::string::npos;
    }
    if (!ok) return Invalid(path, "TYPE_INT32, got " + TypeName(in));
    if (out) *out = in;
    return OkStatus();
  }
  if (type == "boolean") {
    if (!in.is_bool()) return Invalid(path, "TYPE_BOOL, got " + TypeName(in));
    if (out) *out = in;
    return OkStatus();
  }
  if (out) *out = in;
  return OkStatus();
}

StatusOr<json::value> SchemaSet::CheckRequest(std::string_view api, std::string_view schema,
                                              const json::value& body) const {
  auto it = docs_.find(api);
  if (it == docs_.end()) return InternalError("no schema document for " + std::string(api));
  json::object node{{"$ref", schema}};
  json::value out;
  DBCONND_RETURN_IF_ERROR(Walk(it->second, node, body, &out, "", 0));
  return out;
}

Status SchemaSet::CheckKnownFields(std::string_view api, std::string_view schema,
                                   const json::value& body) const {
  auto it = docs_.find(api);
  if (it == docs_.end()) return InternalError("no schema document for " + std::string(api));
  json::object node{{"$ref", schema}};
  return Walk(it->second, node, body, nullptr, "", 0);
}

}  // namespace dbconnd::emulator
