// The Cutover-Signature of a webhook delivery: HMAC-SHA256 of "<t>.<body>" with the secret, in hex.
#include "adapters/notify/webhook_client.hpp"

#include <catch2/catch.hpp>

TEST_CASE("the signature is t=<unix>,v1=<hex HMAC-SHA256 of t.body>", "[notify]") {
  // python3: hmac.new(b"s3cret", b'1767225600.{"a":1}', hashlib.sha256).hexdigest()
  CHECK(cutover::notify_adapter::signature_header("s3cret", 1767225600, R"({"a":1})") ==
        "t=1767225600,v1=7d4120fcebf444efab10ba7cd6c651bf463cefb039db5fad37ff9f7231ac8a4a");
  CHECK(cutover::notify_adapter::signature_header("s3cret", 1767225601, R"({"a":1})") !=
        cutover::notify_adapter::signature_header("s3cret", 1767225600, R"({"a":1})"));
}
