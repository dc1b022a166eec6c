// The API's route table on its own: pattern matching, parameters, 404 versus 405 with Allow, and one declaration
// per route.

#include "adapters/http/route_table.hpp"

#include <catch2/catch.hpp>

using namespace cutover::http;

namespace {
route_table sample() {
  route_table t;
  auto none = [](const request&, const reply&) {};
  t.add({"POST", "/v1/jobs", scope::submit, 0, none});
  t.add({"GET", "/v1/jobs/{id}", scope::read, 4096, none});
  t.add({"POST", "/v1/jobs/{id}/feedback", scope::submit, 4096, none});
  t.add({"POST", "/v1/rollout/hold", scope::admin, 4096, none});
  t.add({"GET", "/v1/rollout/decisions", scope::read, 4096, none});
  return t;
}
} // namespace

TEST_CASE("a path with a parameter matches its route and hands the segment over") {
  auto t = sample();
  auto m = t.find("GET", "/v1/jobs/j42");
  REQUIRE(m.found != nullptr);
  CHECK(m.found->pattern == "/v1/jobs/{id}");
  CHECK(m.params == std::vector<std::string>{"j42"});
  auto f = t.find("POST", "/v1/jobs/j7/feedback");
  REQUIRE(f.found != nullptr);
  CHECK(f.found->scope == scope::submit);
  CHECK(f.params == std::vector<std::string>{"j7"});
}

TEST_CASE("a known path with another method names the methods it has, an unknown path names none") {
  auto t = sample();
  auto m = t.find("DELETE", "/v1/jobs");
  CHECK(m.found == nullptr);
  CHECK(m.allow == "POST");
  auto u = t.find("GET", "/v1/nothing");
  CHECK(u.found == nullptr);
  CHECK(u.allow.empty());
  CHECK(t.find("GET", "/v1/jobs/").found == nullptr); // an empty id is no id: the collection, which is POST only
  CHECK(t.find("GET", "/v1/jobs/").allow == "POST");
  CHECK(t.find("GET", "/v1/jobs/a/b").found == nullptr);
  CHECK(t.find("POST", "/v1/jobs/").found != nullptr); // a trailing slash is ignored
}

TEST_CASE("a route declared twice is refused at start") {
  auto t = sample();
  CHECK_THROWS_AS(t.add({"GET", "/v1/jobs/{id}", scope::read, 0, [](const request&, const reply&) {}}),
                  std::logic_error);
}

TEST_CASE("a route is the whole engine's unless it is declared as a tenant's own") {
  route_table t;
  auto none = [](const request&, const reply&) {};
  t.add({"GET", "/v1/budget", scope::read, 0, none});
  t.add({"GET", "/v1/jobs/{id}", scope::read, 0, none, tenancy::tenant});
  CHECK(t.find("GET", "/v1/budget").found->tenancy == tenancy::global);
  CHECK(t.find("GET", "/v1/jobs/j1").found->tenancy == tenancy::tenant);
}
