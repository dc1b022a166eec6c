// The API keys file (auth.keys_file) on real files: what a valid file gives (digests only, scopes), and
// every mistake as a start error naming the file, the line and the entry, without ever echoing a key.

#include "adapters/config/keys.hpp"
#include "core/api_keys.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

using namespace cutover;
using config_adapter::load_keys_file;

namespace {

struct keys_file {
  std::filesystem::path path;
  explicit keys_file(const std::string& text) {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("cutover-keys-" + std::to_string(rd()) + ".yaml");
    std::ofstream(path) << text;
  }
  ~keys_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  std::string name() const { return path.string(); }
};

/// The one error of `text`; fails the test when there is not exactly one.
std::string only_error(const std::string& text) {
  keys_file f{text};
  auto r = load_keys_file(f.name());
  CHECK(r.keys == nullptr); // a file with an error gives no keys at all
  REQUIRE(r.errors.size() == 1);
  REQUIRE(r.errors[0].rfind(f.name() + ":", 0) == 0); // the file first, then the line
  return r.errors[0].substr(f.name().size() + 1);
}

const std::string secret = "0123456789abcdef-secret";
/// SHA-256("test"), as `sha256sum` prints it.
const std::string test_digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

} // namespace

TEST_CASE("a keys file gives each key's digest and scopes, and the key itself is not kept") {
  ::setenv("CUTOVER_TEST_KEYS_ENV", "from-the-environment-0001", 1);
  keys_file f{"keys:\n"
              "  - {name: ops, key_env: CUTOVER_TEST_KEYS_ENV, scopes: [admin, read]}\n"
              "  - {name: shop, sha256: \"" + test_digest + "\", scopes: [submit, read], tenant: shop}\n"
              "  - {name: ci, key: \"" + secret + "\", scopes: [read]}\n"};
  auto r = load_keys_file(f.name());
  REQUIRE(r.errors.empty());
  REQUIRE(r.keys != nullptr);
  const auto& keys = r.keys->keys();
  REQUIRE(keys.size() == 3);
  CHECK(keys[0].name == "ops");
  CHECK(keys[0].allows(core::api_scope::admin));
  CHECK(keys[0].allows(core::api_scope::read));
  CHECK_FALSE(keys[0].allows(core::api_scope::submit));
  CHECK(keys[0].tenant.empty());
  CHECK(keys[1].tenant == "shop"); // a key may be tied to a tenant
  CHECK(r.keys->find(config_adapter::sha256_digest("from-the-environment-0001")) == &keys[0]);
  CHECK(r.keys->find(config_adapter::sha256_digest("test")) == &keys[1]); // the digest entry matches its key
  CHECK(r.keys->find(config_adapter::sha256_digest(secret)) == &keys[2]);
  CHECK(r.keys->find(config_adapter::sha256_digest(secret + "x")) == nullptr);
  CHECK(r.keys->find(config_adapter::sha256_digest("")) == nullptr);
}

TEST_CASE("a key entry without scopes is a start error naming the entry, the file and the line") {
  const auto e = only_error("keys:\n  - {name: ok, key: \"" + secret + "\", scopes: [read]}\n"
                            "  - {name: ops, key: \"" + secret + "-2\"}\n");
  CHECK(e.rfind("3: keys[1] (ops): scopes is required", 0) == 0);
  CHECK(e.find(secret) == std::string::npos);
}

TEST_CASE("every mistake in a key entry is an error with its line, and no message shows a key") {
  const std::string head = "keys:\n  - ";
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", sha256: \"" + test_digest + "\", scopes: [read]}\n") ==
        "2: keys[0] (a): give exactly one of key, key_env or sha256");
  CHECK(only_error(head + "{name: a, scopes: [read]}\n") == "2: keys[0] (a): needs one of key, key_env or sha256");
  CHECK(only_error(head + "{key: \"" + secret + "\", scopes: [read]}\n") == "2: keys[0]: name is required");
  CHECK(only_error(head + "{name: a, key: short-key, scopes: [read]}\n") ==
        "2: keys[0] (a).key: a key must have at least 16 characters");
  CHECK(only_error(head + "{name: a, sha256: \"abc123\", scopes: [read]}\n") ==
        "2: keys[0] (a).sha256: must be 64 hex digits (the SHA-256 of the key)");
  ::unsetenv("CUTOVER_TEST_UNSET_KEY");
  CHECK(only_error(head + "{name: a, key_env: CUTOVER_TEST_UNSET_KEY, scopes: [read]}\n") ==
        "2: keys[0] (a).key_env: the environment variable CUTOVER_TEST_UNSET_KEY is not set");
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", scopes: [read, write]}\n") ==
        "2: keys[0] (a).scopes: \"write\" is not a scope (submit, read, admin)");
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", scopes: []}\n") ==
        "2: keys[0] (a).scopes: must be a list of one or more of submit, read, admin");
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", scopes: [read], tenat: x}\n") ==
        "2: keys[0] (a).tenat: unknown key (known keys here: name, key, key_env, sha256, scopes, tenant)");
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", scopes: [read], tenant: \"a b\"}\n") ==
        "2: keys[0] (a).tenant: 1 to 64 letters, digits, '-', '_' or '.'");
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", scopes: [read], tenant: \"\"}\n") ==
        "2: keys[0] (a).tenant: must be a non-empty text");
  CHECK(only_error(head + "{name: a, key: \"" + secret + "\", scopes: [read]}\n  - {name: a, key: \"" + secret +
                   "-other\", scopes: [read]}\n") == "3: keys[1] (a): the name a is used twice");
  const auto same = only_error(head + "{name: a, key: \"" + secret + "\", scopes: [read]}\n  - {name: b, key: \"" +
                               secret + "\", scopes: [admin]}\n");
  CHECK(same == "3: keys[1] (b): the same key as a (a key must name one entry)");
  CHECK(only_error("keys: []\n").rfind("1: keys: must be a list", 0) == 0);
  keys_file typo{"kyes:\n  - {name: a}\n"};
  auto r = load_keys_file(typo.name());
  CHECK(r.keys == nullptr);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors[0] == typo.name() + ":1: kyes: unknown key (known: keys)");
}

TEST_CASE("a keys file that is no YAML or cannot be read is an error, not an empty key set") {
  CHECK(only_error("keys: [a,\n").find("not valid YAML") != std::string::npos);
  auto r = load_keys_file("/nonexistent/keys.yaml");
  CHECK(r.keys == nullptr);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("cannot read the keys file") != std::string::npos);
}

TEST_CASE("only loopback hosts count as loopback") {
  for (const char* ok : {"127.0.0.1:8080", "127.1.2.3:1", "localhost:80", "LOCALHOST:80", "[::1]:9000", "::1:9000"})
    CHECK(core::is_loopback_listen(ok));
  for (const char* no : {"0.0.0.0:8080", "[::]:8080", "10.0.0.1:80", "128.0.0.1:80", "127.0.0.256:80",
                         "127.0.0:80", "example.com:80", "localhost.example.com:80", "127.0.0.1.nip.io:80"})
    CHECK_FALSE(core::is_loopback_listen(no));
}
