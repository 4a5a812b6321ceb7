#include "common/heap_optional.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace dbconnd::common {
namespace {

struct Block {
  std::string name;
  std::vector<std::string> tags;
  friend bool operator==(const Block&, const Block&) = default;
};

// The point of the type: an unset block costs one pointer, whatever its size.
static_assert(sizeof(HeapOptional<Block>) == sizeof(void*));

TEST_CASE("HeapOptional: empty, set, reset and compared like std::optional") {
  HeapOptional<Block> a;
  CHECK_FALSE(a.has_value());
  CHECK_FALSE(a);
  CHECK(a == std::nullopt);
  CHECK_THROWS_AS(a.value(), std::bad_optional_access);

  a = Block{"net", {"db"}};
  REQUIRE(a);
  CHECK(a->name == "net");
  CHECK((*a).tags == std::vector<std::string>{"db"});
  CHECK_FALSE(a == std::nullopt);

  HeapOptional<Block> b = a;  // deep copy
  b->tags.push_back("web");
  CHECK(a->tags.size() == 1);
  CHECK_FALSE(a == b);
  b->tags.pop_back();
  CHECK(a == b);

  a = std::nullopt;
  CHECK_FALSE(a);
  CHECK_FALSE(a == b);
  CHECK(a == HeapOptional<Block>());

  a.emplace(Block{"other", {}});
  CHECK(a.value().name == "other");
  a.reset();
  CHECK_FALSE(a.has_value());
}

TEST_CASE("HeapOptional: taken from a std::optional, set or not, and moved") {
  std::optional<Block> set = Block{"x", {}};
  std::optional<Block> unset;
  HeapOptional<Block> from_set = set;
  HeapOptional<Block> from_unset = unset;
  REQUIRE(from_set);
  CHECK(from_set->name == "x");
  CHECK_FALSE(from_unset);

  HeapOptional<Block> moved = std::move(from_set);
  REQUIRE(moved);
  CHECK(moved->name == "x");

  HeapOptional<Block> assigned;
  assigned = moved;
  assigned->name = "y";
  CHECK(moved->name == "x");  // assignment copies too
}

}  // namespace
}  // namespace dbconnd::common
