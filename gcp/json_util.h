#pragma once
// gcp-private helpers for reading Google JSON leniently: responses may carry
// fields newer than our schemas, and int64 values arrive as strings.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace dbconnd::gcp::wire {

namespace json = boost::json;

inline const json::value* Get(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}
inline const json::object* Obj(const json::object& o, std::string_view key) {
  auto* v = Get(o, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}
inline const json::array* Arr(const json::object& o, std::string_view key) {
  auto* v = Get(o, key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}
inline std::string Str(const json::object& o, std::string_view key) {
  auto* v = Get(o, key);
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}
inline bool Bool(const json::object& o, std::string_view key) {
  auto* v = Get(o, key);
  return v && v->is_bool() && v->get_bool();
}
// int32 fields are numbers, int64 fields strings; accept both.
inline int64_t Int(const json::object& o, std::string_view key) {
  auto* v = Get(o, key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  if (v->is_string()) {
    int64_t out = 0;
    const auto& s = v->get_string();
    std::from_chars(s.data(), s.data() + s.size(), out);
    return out;
  }
  return 0;
}
// The object at `key`, created (or replaced if not an object) when needed.
inline json::object& Ensure(json::object& o, std::string_view key) {
  json::value& v = o[key];
  if (!v.is_object()) v = json::object();
  return v.get_object();
}
// Last path segment of a resource name: "projects/p/.../jobs/j" -> "j".
inline std::string LastSegment(std::string_view name) {
  size_t slash = name.rfind('/');
  return std::string(slash == std::string_view::npos ? name : name.substr(slash + 1));
}
// Segment following `key` in a resource name ("locations" -> "us-central1").
inline std::string SegmentAfter(std::string_view name, std::string_view key) {
  std::string needle = std::string(key) + "/";
  size_t pos = 0;
  while ((pos = name.find(needle, pos)) != std::string_view::npos) {
    if (pos == 0 || name[pos - 1] == '/') {
      size_t start = pos + needle.size();
      size_t end = name.find('/', start);
      return std::string(name.substr(start, end == std::string_view::npos ? end : end - start));
    }
    pos += needle.size();
  }
  return {};
}
// Sets out.project, out.region and out.name from a located resource name,
// "projects/P/locations/R/<collection>/N" (a connector, a Cloud Run job or
// service).
template <typename T>
void SetLocatedName(T& out, std::string_view full) {
  out.project = SegmentAfter(full, "projects");
  out.region = SegmentAfter(full, "locations");
  out.name = LastSegment(full);
}

}  // namespace dbconnd::gcp::wire
