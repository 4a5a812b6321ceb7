#include "config/fingerprint.h"

#include <boost/pfr/core.hpp>
#include <chrono>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace dbconnd::config {
namespace {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsOptional<common::HeapOptional<T>> : std::true_type {};

template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};

template <class T>
struct IsDuration : std::false_type {};
template <class R, class P>
struct IsDuration<std::chrono::duration<R, P>> : std::true_type {};

// Every value is length- or terminator-delimited, so two different models
// never spell the same string.
class Writer {
 public:
  template <class T>
  void Field(const T& v) {
    if constexpr (std::is_same_v<T, SourceLocation>) {
      // Where it was written, not what it says.
    } else if constexpr (std::is_same_v<T, std::string>) {
      out_ += std::to_string(v.size());
      out_ += ':';
      out_ += v;
      out_ += ';';
    } else if constexpr (std::is_same_v<T, bool>) {
      out_ += v ? "1;" : "0;";
    } else if constexpr (std::is_enum_v<T>) {
      out_ += std::to_string(static_cast<long long>(v));
      out_ += ';';
    } else if constexpr (std::is_integral_v<T>) {
      out_ += std::to_string(v);
      out_ += ';';
    } else if constexpr (IsDuration<T>::value) {
      out_ += std::to_string(v.count());
      out_ += ';';
    } else if constexpr (IsOptional<T>::value) {
      if (!v) {
        out_ += "-;";
      } else {
        out_ += '+';
        Field(*v);
      }
    } else if constexpr (IsVector<T>::value) {
      out_ += '[';
      out_ += std::to_string(v.size());
      out_ += ';';
      for (const auto& e : v) Field(e);
      out_ += ']';
    } else if constexpr (std::is_aggregate_v<T> && std::is_class_v<T>) {
      out_ += '{';
      boost::pfr::for_each_field(v, [this](const auto& f) { this->Field(f); });
      out_ += '}';
    } else {
      static_assert(!std::is_same_v<T, T>, "config::Fingerprint cannot spell this field type: teach it");
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string Fingerprint(const Intent& intent) {
  Writer w;
  w.Field(intent);
  return w.Take();
}

}  // namespace dbconnd::config
