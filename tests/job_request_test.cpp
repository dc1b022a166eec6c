// Validation of a submitted job body on its own: `metadata` is kept and fingerprinted in one canonical form (keys
// in byte order at every depth, no whitespace), so the same JSON with its keys in another order is the same
// request for idempotency, whatever order the JSON parser keeps; and fingerprints stored before still match.

#include "adapters/http/job_request.hpp"

#include <cpprest/json.h>

#include <optional>

#include <catch2/catch.hpp>

using namespace cutover::http;

namespace {

parsed_job parse(const std::string& body) {
  auto r = parse_job_request(body);
  REQUIRE(std::holds_alternative<parsed_job>(r));
  return std::get<parsed_job>(r);
}

std::string with_metadata(const std::string& metadata) {
  return R"({"user_id":"u1","prompt":"a kite","tier":"sd","metadata":)" + metadata + "}";
}

/// A parser that keeps the order of keys as sent (cpprestsdk's switch for it is process-wide): set for one scope.
struct keep_key_order {
  keep_key_order() { web::json::keep_object_element_order(true); }
  ~keep_key_order() { web::json::keep_object_element_order(false); }
};

const std::string canonical = R"({"a":{"x":true,"y":[1,{"c":3,"d":"e"}]},"b":1.5,"z":null})";
const std::vector<std::string> same_json = {
  R"({"b":1.5,"z":null,"a":{"y":[1,{"d":"e","c":3}],"x":true}})",
  R"({ "z" : null, "a" : { "x" : true, "y" : [ 1, { "c" : 3, "d" : "\u0065" } ] }, "b" : 1.5 })",
  canonical,
};

} // namespace

TEST_CASE("metadata with its keys in any order is stored and fingerprinted as one canonical text") {
  const auto reference = parse(with_metadata(canonical));
  CHECK(reference.spec.metadata == canonical);
  for (const bool kept : {false, true}) {
    std::optional<keep_key_order> order;
    if (kept)
      order.emplace();
    for (const auto& m : same_json) {
      INFO((kept ? "keys kept in the order sent: " : "keys sorted by the parser: ") + m);
      const auto p = parse(with_metadata(m));
      CHECK(p.spec.metadata == canonical);
      CHECK(p.body_hash == reference.body_hash);
      if (!kept) // what was stored (and fingerprinted) before: cpprestsdk's own sorted serialisation
        CHECK(p.spec.metadata == web::json::value::parse(m).serialize());
    }
  }
}

TEST_CASE("metadata that differs in any value, nesting or array order is another request") {
  const auto reference = parse(with_metadata(canonical)).body_hash;
  for (const std::string other : {R"({"a":{"x":false,"y":[1,{"c":3,"d":"e"}]},"b":1.5,"z":null})",
                                  R"({"a":{"x":true,"y":[{"c":3,"d":"e"},1]},"b":1.5,"z":null})",
                                  R"({"a":{"x":true,"y":[1,{"c":3,"d":"e"}]},"b":1.5})",
                                  R"({"a":{"x":true,"y":[1,{"c":3}],"d":"e"},"b":1.5,"z":null})"}) {
    INFO(other);
    CHECK(parse(with_metadata(other)).body_hash != reference);
  }
}
