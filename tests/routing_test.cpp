#include "core/bucket.hpp"
#include "core/routing.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;

TEST_CASE("murmur3 x86_32 matches the reference vectors") {
  CHECK(murmur3_x86_32("", 0) == 0u);
  CHECK(murmur3_x86_32("", 1) == 0x514E28B7u);
  CHECK(murmur3_x86_32("hello", 0) == 0x248BFA47u);
  CHECK(murmur3_x86_32("The quick brown fox jumps over the lazy dog", 0) == 0x2E4FF723u);
}

TEST_CASE("sticky buckets match Unleash's public vectors") {
  CHECK(sticky_bucket("gr1", "123") == 73);
  CHECK(sticky_bucket("groupX", "999") == 25);
}

TEST_CASE("buckets stay in 1..100 and spread evenly") {
  int counts[101] = {};
  for (int i = 0; i < 100000; ++i) {
    int b = sticky_bucket("gemini-imagen3", "user-" + std::to_string(i));
    REQUIRE(b >= 1);
    REQUIRE(b <= 100);
    ++counts[b];
  }
  for (int b = 1; b <= 100; ++b) {
    CHECK(counts[b] > 800);
    CHECK(counts[b] < 1200);
  }
}

TEST_CASE("raising the percentage keeps every candidate user on the candidate") {
  rollout_config r;
  r.name = "gemini-imagen3";
  r.baseline = "photomaker";
  r.candidate = "gemini";
  int on10 = 0, on50 = 0;
  for (int i = 0; i < 10000; ++i) {
    auto user = "u" + std::to_string(i);
    auto at10 = decide_route(r, {false, 10}, {user, "", ""});
    auto at50 = decide_route(r, {false, 50}, {user, "", ""});
    if (at10.candidate) {
      ++on10;
      REQUIRE(at50.candidate);
    }
    on50 += at50.candidate;
    REQUIRE(at10.bucket == at50.bucket);
  }
  CHECK(on10 > 800);
  CHECK(on10 < 1200);
  CHECK(on50 > 4700);
  CHECK(on50 < 5300);
}

TEST_CASE("routing precedence is kill switch, rollback, endpoint, segment, bucket") {
  rollout_config r;
  r.name = "gr1";
  r.baseline = "photomaker";
  r.candidate = "gemini";
  r.endpoint_overrides["/v1/avatars"] = override_target::baseline;
  r.segment_overrides["enterprise"] = override_target::baseline;
  r.segment_overrides["beta"] = override_target::candidate;
  const rollout_view all_in{false, 100};

  auto d = decide_route(r, all_in, {"123", "", ""});
  CHECK(d.provider == "gemini");
  CHECK(d.reason == "bucket 73 <= 100");
  CHECK(d.bucket == 73);

  CHECK(decide_route(r, {false, 50}, {"123", "", ""}).reason == "bucket 73 > 50");
  CHECK(decide_route(r, {false, 0}, {"123", "", ""}).provider == "photomaker");

  d = decide_route(r, all_in, {"123", "", "enterprise"});
  CHECK(d.provider == "photomaker");
  CHECK(d.reason == "segment enterprise -> baseline");
  CHECK(decide_route(r, {false, 0}, {"123", "", "beta"}).provider == "gemini");

  d = decide_route(r, {false, 0}, {"123", "/v1/avatars", "beta"});
  CHECK(d.provider == "photomaker");
  CHECK(d.reason == "endpoint /v1/avatars -> baseline");

  d = decide_route(r, {true, 100}, {"123", "", "beta"});
  CHECK(d.provider == "photomaker");
  CHECK(d.reason == "rolled back -> baseline");

  r.enabled = false;
  d = decide_route(r, {true, 100}, {"123", "", "beta"});
  CHECK(d.reason == "kill switch -> baseline");
  CHECK(d.bucket == 73);
}

TEST_CASE("a rollback or a lower percent pulls back the candidate's own users, not fallbacks or overrides") {
  rollout_config r;
  r.name = "gr1";
  r.baseline = "photomaker";
  r.candidate = "gemini";
  r.segment_overrides["beta"] = override_target::candidate;
  // user "123" is in bucket 73
  CHECK_FALSE(pull_back(r, {false, 100}, {"123", "", ""}, "gemini", true));
  CHECK(pull_back(r, {true, 100}, {"123", "", ""}, "gemini", true));     // rolled back
  CHECK(pull_back(r, {false, 50}, {"123", "", ""}, "gemini", true));     // 73 is above the new 50
  CHECK_FALSE(pull_back(r, {false, 73}, {"123", "", ""}, "gemini", true)); // still inside
  CHECK_FALSE(pull_back(r, {true, 100}, {"123", "", ""}, "gemini", false)); // reached by falling back
  CHECK_FALSE(pull_back(r, {true, 100}, {"123", "", ""}, "photomaker", true)); // already on the baseline
  CHECK_FALSE(pull_back(r, {false, 0}, {"123", "", "beta"}, "gemini", true));  // the segment stays on
  CHECK(pull_back(r, {true, 0}, {"123", "", "beta"}, "gemini", true));        // a rollback overrides it
  r.enabled = false;
  CHECK(pull_back(r, {false, 100}, {"123", "", ""}, "gemini", true)); // kill switch
}
