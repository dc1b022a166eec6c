// HTTPS on the API's port (`server.tls`) over real loopback against the real binary, with a certificate this test
// makes (openssl CLI): a client that trusts only that certificate is served over TLS 1.2+, plain HTTP on the same
// port is not; a missing file, a file that is not PEM, or a key of another certificate stops the start (exit 2) with
// the key and the file named.

#include "support/engine_process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

using namespace cutover::testing;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

/// A self-signed certificate for 127.0.0.1 and its key, as `<dir>/<name>.crt` and `<dir>/<name>.key`.
void make_certificate(const temp_dir& dir, const std::string& name) {
  const auto cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
                   " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                   dir.file(name + ".key") + " -out " + dir.file(name + ".crt") + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

/// fast_config with `server.tls` set.
std::string with_tls(const std::string& cert, const std::string& key) {
  auto cfg = fast_config(0);
  const std::string server = "server: {listen: 127.0.0.1:8080, max_body_bytes: 4096";
  const auto at = cfg.find(server);
  REQUIRE(at != std::string::npos);
  cfg.insert(at + server.size(), ", tls: {cert_file: " + cert + ", key_file: " + key + "}");
  return cfg;
}

/// One request over TLS that verifies the server against `ca_file` (and its name, 127.0.0.1); the raw answer.
std::string https_request(int port, const std::string& ca_file, const std::string& request) {
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  ctx.load_verify_file(ca_file);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream{ioc, ctx};
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  stream.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  stream.handshake(ssl::stream_base::client);
  net::write(stream, net::buffer(request));
  std::string answer;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    const auto n = stream.read_some(net::buffer(buf), ec);
    answer.append(buf, n);
    if (ec)
      break;
  }
  return answer;
}

/// A TLS connection that has done its handshake and then stays open, holding one of the server's connections.
struct held_tls {
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  ssl::stream<tcp::socket> stream{ioc, ctx};
  held_tls(int port, const std::string& ca_file) {
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    stream.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream.handshake(ssl::stream_base::client);
  }
};

/// The same bytes over plain TCP; what came back before the server closed (at most a few seconds).
std::string plain_request(int port, const std::string& request) {
  net::io_context ioc;
  tcp::socket socket{ioc};
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  net::write(socket, net::buffer(request));
  std::string answer;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    const auto n = socket.read_some(net::buffer(buf), ec);
    answer.append(buf, n);
    if (ec)
      break;
  }
  return answer;
}

/// `cutover serve` on `config`; its exit status and what it wrote to stderr.
std::pair<int, std::string> serve_once(const temp_dir& dir, const std::string& config) {
  std::ofstream(dir.file("config.yaml")) << config;
  const auto err = dir.file("stderr.txt");
  // CUTOVER_TEST_BINARY runs the same checks against another build, as engine_process does
  const char* bin = std::getenv("CUTOVER_TEST_BINARY") != nullptr ? std::getenv("CUTOVER_TEST_BINARY") : CUTOVER_BINARY;
  const auto cmd = std::string(bin) + " serve --config " + dir.file("config.yaml") + " --data " +
                   dir.path.string() + " --listen 127.0.0.1:" + std::to_string(free_port()) + " 2>" + err;
  const int status = std::system(cmd.c_str());
  std::stringstream text;
  text << std::ifstream(err).rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

} // namespace

TEST_CASE("tls: the API answers over TLS with the configured certificate, and not in plain HTTP on that port") {
  temp_dir dir;
  make_certificate(dir, "server");
  engine_process engine{dir.path.string(), with_tls("server.crt", "server.key")}; // relative: beside the config
  CHECK(engine.log().find("scheme=https") != std::string::npos);

  const auto health = https_request(engine.port(), dir.file("server.crt"),
                                    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  CHECK(health.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(health.find(R"({"status":"ok"})") != std::string::npos);

  const std::string body = R"({"user_id":"u1","prompt":"a kite","tier":"sd"})";
  const auto submitted = https_request(engine.port(), dir.file("server.crt"),
                                       "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                                       "\r\nConnection: close\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body);
  CHECK(submitted.rfind("HTTP/1.1 202", 0) == 0);

  // plain HTTP on the TLS port: no HTTP answer, the connection ends
  const auto plain = plain_request(engine.port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(plain.find("HTTP/1.1 200") == std::string::npos);

  // a client that trusts another certificate refuses this server
  make_certificate(dir, "other");
  CHECK_THROWS(https_request(engine.port(), dir.file("other.crt"), "GET /healthz HTTP/1.1\r\n\r\n"));
}

TEST_CASE("tls: one connection over server.max_connections is told 503 over TLS, after its handshake") {
  temp_dir dir;
  make_certificate(dir, "server");
  auto cfg = with_tls("server.crt", "server.key");
  cfg.insert(cfg.find(", tls:"), ", max_connections: 2");
  engine_process engine{dir.path.string(), cfg};
  held_tls first{engine.port(), dir.file("server.crt")}, second{engine.port(), dir.file("server.crt")};
  const auto refused = https_request(engine.port(), dir.file("server.crt"),
                                     "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(refused.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(refused.find("too_many_connections") != std::string::npos);
  CHECK(refused.find("Retry-After: 1") != std::string::npos);
}

TEST_CASE("tls: a missing file, a file that is not PEM, or the key of another certificate stop the start (exit 2)") {
  temp_dir dir;
  make_certificate(dir, "server");
  make_certificate(dir, "other");
  std::ofstream(dir.file("junk.pem")) << "not a certificate\n";

  auto [missing, missing_text] = serve_once(dir, with_tls(dir.file("absent.crt"), dir.file("server.key")));
  CHECK(missing == 2);
  CHECK(missing_text.find("server.tls.cert_file: cannot read " + dir.file("absent.crt")) != std::string::npos);

  auto [no_key, no_key_text] = serve_once(dir, with_tls(dir.file("server.crt"), dir.file("absent.key")));
  CHECK(no_key == 2);
  CHECK(no_key_text.find("server.tls.key_file: cannot read " + dir.file("absent.key")) != std::string::npos);

  auto [junk, junk_text] = serve_once(dir, with_tls(dir.file("junk.pem"), dir.file("server.key")));
  CHECK(junk == 2);
  CHECK(junk_text.find("server.tls.cert_file: " + dir.file("junk.pem") + " is not a PEM certificate") !=
        std::string::npos);

  auto [mismatch, mismatch_text] = serve_once(dir, with_tls(dir.file("server.crt"), dir.file("other.key")));
  CHECK(mismatch == 2);
  CHECK(mismatch_text.find("server.tls.key_file: " + dir.file("other.key")) != std::string::npos);

  // half a tls section is a configuration error with its line
  auto half_config = with_tls("server.crt", "server.key");
  half_config.replace(half_config.find(", key_file: server.key"), std::string(", key_file: server.key").size(), "");
  auto [half, half_text] = serve_once(dir, half_config);
  CHECK(half == 2);
  CHECK(half_text.find(":1: server.tls.key_file: missing required key") != std::string::npos);
}
