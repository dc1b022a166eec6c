/// The provider adapters' HTTP client (adapters/providers/http_call) against small servers on real loopback
/// sockets, plain and TLS, that each test scripts: connections kept between calls, a pooled connection the server
/// closed, a server that never answers, nothing listening, an answer far larger than Beast's default limit, the
/// request target under base_url's path, and https that checks the certificate and the name in it. Answers are
/// awaited on a future the client's callback fulfils (bounded at 20 s), never by sleeping.

#include "adapters/providers/http_call.hpp"
#include "core/http_url.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <sys/socket.h>

namespace {

using namespace cutover;
using namespace std::chrono_literals;
using providers::detail::http_client;
using providers::detail::http_request;
using providers::detail::http_result;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

/// What a scripted server does with each request it reads: the answer, and whether to close the connection after
/// it (without saying so in the answer) or never to answer at all.
struct script {
  std::function<bhttp::response<bhttp::string_body>(const bhttp::request<bhttp::string_body>&)> answer;
  bool close_after_answer = false;
  bool never_answer = false;
  bool close_at_second_request = false; ///< a connection's second request is read, then the connection closed
};

/// A server on 127.0.0.1 (port 0), plain or TLS, one thread per connection. Counts connections and keeps the
/// request targets it read.
class scripted_server {
public:
  explicit scripted_server(script s, net::ssl::context* tls = nullptr)
    : script_(std::move(s)), tls_(tls), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~scripted_server() {
    stopping_ = true;
    beast::error_code ec;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR); // wakes the blocked accept (close alone does not)
    accept_thread_.join();
    acceptor_.close(ec);
    {
      std::lock_guard lock(mutex_);
      for (auto* s : open_)
        s->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& t : connection_threads_)
      t.join();
  }
  std::string url(const std::string& path = "") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           path;
  }
  int connections() const { return connections_; }
  std::vector<std::string> targets() {
    std::lock_guard lock(mutex_);
    return targets_;
  }

private:
  void accept_loop() {
    while (!stopping_) {
      beast::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec)
        return;
      ++connections_;
      connection_threads_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket socket) {
    if (tls_) {
      net::ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      track(&stream.next_layer(), true);
      beast::error_code ec;
      stream.handshake(net::ssl::stream_base::server, ec);
      if (!ec)
        exchange(stream);
      track(&stream.next_layer(), false);
    } else {
      track(&socket, true);
      exchange(socket);
      track(&socket, false);
    }
  }

  void track(tcp::socket* s, bool open) {
    std::lock_guard lock(mutex_);
    if (open)
      open_.push_back(s);
    else
      open_.erase(std::find(open_.begin(), open_.end(), s));
  }

  template <class Stream> void exchange(Stream& stream) {
    beast::flat_buffer buffer;
    for (int n = 1; !stopping_; ++n) {
      bhttp::request<bhttp::string_body> req;
      beast::error_code ec;
      bhttp::read(stream, buffer, req, ec);
      if (ec)
        return;
      {
        std::lock_guard lock(mutex_);
        targets_.emplace_back(req.target());
      }
      if (script_.close_at_second_request && n == 2)
        return;
      if (script_.never_answer) {
        bhttp::read(stream, buffer, req, ec); // until the client gives up and closes
        return;
      }
      auto res = script_.answer(req);
      res.version(11);
      const bool chunked = res.chunked();
      res.prepare_payload();
      if (chunked) // prepare_payload gives a body of known size a Content-Length instead
        res.chunked(true);
      bhttp::write(stream, res, ec);
      if (ec || script_.close_after_answer)
        return;
    }
  }

  script script_;
  net::ssl::context* tls_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<tcp::socket*> open_;
  std::vector<std::string> targets_;
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_; // joined at the end: a test's server sees a handful of connections
};

bhttp::response<bhttp::string_body> ok(std::string body) {
  bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set("X-Request-Id", "req-1");
  res.body() = std::move(body);
  return res;
}

/// The client's answer to one call, awaited (20 s bound).
http_result call(http_client& client, http_request req) {
  auto promise = std::make_shared<std::promise<http_result>>();
  auto answer = promise->get_future();
  client.send(std::move(req), [promise](http_result r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(20s) == std::future_status::ready);
  auto r = answer.get();
  UNSCOPED_INFO("transport: " << r.transport_message);
  return r;
}

/// A temporary folder, removed at the end.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "cutover-http-client-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

/// A self-signed certificate and key as `<dir>/<name>.crt` and `.key`, for the subjectAltName `san`.
void make_certificate(const temp_dir& dir, const std::string& name, const std::string& san) {
  const auto cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
                   " -subj /CN=cutover-test -addext subjectAltName=" + san + " -keyout " + dir.file(name + ".key") +
                   " -out " + dir.file(name + ".crt") + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

std::unique_ptr<net::ssl::context> server_tls(const temp_dir& dir, const std::string& name) {
  auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  ctx->use_certificate_chain_file(dir.file(name + ".crt"));
  ctx->use_private_key_file(dir.file(name + ".key"), net::ssl::context::pem);
  return ctx;
}

} // namespace

TEST_CASE("a provider's base_url is taken apart into scheme, host, port and path, and what no client can use is refused") {
  auto u = core::parse_http_url("https://api.openai.com/v1/");
  CHECK(u.problem.empty());
  CHECK(u.tls);
  CHECK(u.host == "api.openai.com");
  CHECK(u.port == "443");
  CHECK(u.path == "/v1");
  CHECK(u.host_header() == "api.openai.com");
  u = core::parse_http_url("http://[::1]:8080");
  CHECK(u.problem.empty());
  CHECK_FALSE(u.tls);
  CHECK(u.host == "::1");
  CHECK(u.port == "8080");
  CHECK(u.path.empty());
  CHECK(u.host_header() == "[::1]:8080");
  CHECK(core::parse_http_url("HTTP://Example.com:80/a").host_header() == "Example.com");
  for (const auto* bad : {"ftp://x/v1", "https://", "https://:443/v1", "https://user:secret@x/v1", "https://x:99999",
                          "https://x:80a", "https://x/v1?key=1", "https://x/v 1", "https://[::1/v1", "https://x:/v1"}) {
    INFO(bad);
    const auto refused = core::parse_http_url(bad);
    CHECK_FALSE(refused.problem.empty());
    CHECK(refused.host.empty());
  }
  CHECK(core::request_target("/v1", "images/generations") == "/v1/images/generations");
  CHECK(core::request_target("/v1", "/predictions/abc") == "/v1/predictions/abc");
  CHECK(core::request_target("", "models/x:predict") == "/models/x:predict");
  CHECK(core::request_target("/v1beta", "/batches/a b\r\nX: y") == "/v1beta/batches/a%20b%0D%0AX:%20y");
  CHECK(core::request_target("/v1", "/predictions/../files?x=1#f") == "/v1/predictions/%2E%2E/files%3Fx=1%23f");
  CHECK(core::request_target("/v1", "/predictions/./50%") == "/v1/predictions/%2E/50%25");
}

TEST_CASE("provider client: calls in turn share one kept-alive connection, and each answer arrives whole") {
  scripted_server server({[](const auto& req) {
    auto res = ok("{\"echo\":\"" + std::string(req.body()) + "\",\"auth\":\"" +
                  std::string(req[bhttp::field::authorization]) + "\"}");
    res.insert("Set-Cookie", "a=1");
    res.insert("Set-Cookie", "b=2");
    return res;
  }});
  http_client client(server.url("/v1"), 10s);
  for (int i = 0; i < 20; ++i) {
    http_request req("POST", "images/generations");
    req.header("Authorization", "Bearer k-" + std::to_string(i));
    req.body = std::to_string(i);
    const auto r = call(client, std::move(req));
    REQUIRE(r.status == 200);
    CHECK(r.body == "{\"echo\":\"" + std::to_string(i) + "\",\"auth\":\"Bearer k-" + std::to_string(i) + "\"}");
    CHECK(r.header("x-request-id") == "req-1");
    CHECK(r.header("set-cookie") == "a=1, b=2");
    CHECK(r.header("content-type") == "application/json");
  }
  CHECK(server.connections() == 1);
  const auto targets = server.targets();
  REQUIRE(targets.size() == 20);
  CHECK(targets.front() == "/v1/images/generations");
}

TEST_CASE("provider client: calls at once open connections of their own, and each gets its own answer") {
  scripted_server server({[](const auto& req) { return ok(std::string(req.body())); }});
  http_client client(server.url(), 10s);
  std::vector<std::future<http_result>> answers;
  for (int i = 0; i < 16; ++i) {
    auto promise = std::make_shared<std::promise<http_result>>();
    answers.push_back(promise->get_future());
    http_request req("POST", "/echo");
    req.body = "call-" + std::to_string(i);
    client.send(std::move(req), [promise](http_result r) { promise->set_value(std::move(r)); });
  }
  REQUIRE(answers.size() == 16);
  for (int i = 0; i < 16; ++i) {
    REQUIRE(answers[static_cast<std::size_t>(i)].wait_for(20s) == std::future_status::ready);
    const auto r = answers[static_cast<std::size_t>(i)].get();
    CHECK(r.status == 200);
    CHECK(r.body == "call-" + std::to_string(i));
  }
  CHECK(server.connections() >= 2);
  CHECK(server.connections() <= 16);
}

TEST_CASE("provider client: a pooled connection the server has closed is replaced, the next call goes on a new one") {
  scripted_server server({[](const auto&) { return ok("{}"); }, true});
  http_client client(server.url("/v1"), 10s);
  for (int i = 0; i < 5; ++i) {
    const auto r = call(client, http_request("GET", "/models"));
    CHECK(r.status == 200);
    CHECK(r.transport_message.empty());
  }
  CHECK(server.connections() == 5);
}

TEST_CASE("provider client: a connection closed after a GET was sent on it sends the GET again, once, on a new one") {
  scripted_server server({[](const auto&) { return ok("{}"); }, false, false, true});
  http_client client(server.url("/v1"), 10s);
  CHECK(call(client, http_request("GET", "/predictions/p1")).status == 200);
  const auto r = call(client, http_request("GET", "/predictions/p1")); // read by the server, then dropped
  CHECK(r.status == 200);
  CHECK(server.connections() == 2);
  CHECK(server.targets().size() == 3);
}

TEST_CASE("provider client: a connection closed after a POST was sent on it is a failure without an answer, never sent twice") {
  scripted_server server({[](const auto&) { return ok("{}"); }, false, false, true});
  http_client client(server.url("/v1"), 10s);
  CHECK(call(client, http_request("POST", "/predictions")).status == 200);
  const auto r = call(client, http_request("POST", "/predictions")); // may have started a paid job
  CHECK(r.status == 0);
  CHECK(r.transport_error == core::error_class::server);
  CHECK(r.transport_message.rfind("reading the answer: ", 0) == 0);
  CHECK(server.connections() == 1);
  CHECK(server.targets().size() == 2);
}

TEST_CASE("provider client: a server that never answers gives a timeout once the call's time is up") {
  scripted_server server({{}, false, true});
  http_client client(server.url(), 1s);
  const auto r = call(client, http_request("POST", "/slow"));
  CHECK(r.status == 0);
  CHECK(r.transport_error == core::error_class::timeout);
  CHECK(r.transport_message.find("timed out") != std::string::npos);
}

TEST_CASE("provider client: nothing listening is a server failure without an answer, and says where it went") {
  net::io_context ioc;
  tcp::socket bound(ioc); // a port held but not listening: connections to it are refused, and no other test takes it
  bound.open(tcp::v4());
  bound.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const auto url = "http://127.0.0.1:" + std::to_string(bound.local_endpoint().port());
  http_client client(url + "/v1", 5s);
  const auto r = call(client, http_request("POST", "images/generations"));
  CHECK(r.status == 0);
  CHECK(r.transport_error == core::error_class::server);
  CHECK(r.transport_message.rfind("connecting to 127.0.0.1:", 0) == 0);
}

TEST_CASE("provider client: an answer of 20 MB sent in chunks is read whole, past Beast's default limit of 8 MB") {
  const std::string big(20u << 20, 'x');
  scripted_server server({[&big](const auto&) {
    auto res = ok(big);
    res.chunked(true);
    return res;
  }});
  http_client client(server.url(), 20s);
  const auto r = call(client, http_request("GET", "/big"));
  CHECK(r.status == 200);
  CHECK(r.transport_message.empty());
  CHECK(r.body.size() == big.size());
  CHECK(r.body.find_first_not_of('x') == std::string::npos); // not compared whole: Catch would print 20 MB
}

TEST_CASE("provider client: an identifier from an answer is percent-encoded into the target, never into the request line") {
  scripted_server server({[](const auto&) { return ok("{}"); }});
  http_client client(server.url("/v1beta/"), 10s);
  const auto r = call(client, http_request("GET", "/batches/a b\r\nX-Injected: 1"));
  CHECK(r.status == 200);
  const auto targets = server.targets();
  REQUIRE(targets.size() == 1);
  CHECK(targets.front() == "/v1beta/batches/a%20b%0D%0AX-Injected:%201");
}

TEST_CASE("provider client: https checks the server's certificate against the trusted authorities and the name in it") {
  temp_dir dir;
  make_certificate(dir, "right", "IP:127.0.0.1");
  make_certificate(dir, "wrong_name", "DNS:api.example.com");
  make_certificate(dir, "stranger", "IP:127.0.0.1");
  const char* before = std::getenv("SSL_CERT_FILE");
  const std::string saved = before == nullptr ? "" : before;
  auto trust = [](const std::string& file) { REQUIRE(::setenv("SSL_CERT_FILE", file.c_str(), 1) == 0); };

  auto right = server_tls(dir, "right");
  scripted_server good({[](const auto&) { return ok("{\"tls\":true}"); }}, right.get());
  trust(dir.file("right.crt")); // read when a client is made
  {
    http_client client(good.url("/v1"), 10s);
    const auto r = call(client, http_request("POST", "images/generations"));
    CHECK(r.transport_message.empty());
    CHECK(r.status == 200);
    CHECK(r.body == "{\"tls\":true}");
  }
  SECTION("a certificate no trusted authority signed is refused") {
    trust(dir.file("stranger.crt"));
    http_client client(good.url("/v1"), 10s);
    const auto r = call(client, http_request("POST", "images/generations"));
    CHECK(r.status == 0);
    CHECK(r.transport_error == core::error_class::server);
    CHECK(r.transport_message.rfind("TLS with 127.0.0.1:", 0) == 0);
  }
  SECTION("a trusted certificate for another name is refused") {
    auto other = server_tls(dir, "wrong_name");
    scripted_server misnamed({[](const auto&) { return ok("{}"); }}, other.get());
    trust(dir.file("wrong_name.crt"));
    http_client client(misnamed.url("/v1"), 10s);
    const auto r = call(client, http_request("POST", "images/generations"));
    CHECK(r.status == 0);
    CHECK(r.transport_message.rfind("TLS with 127.0.0.1:", 0) == 0);
    CHECK(misnamed.targets().empty());
  }
  if (saved.empty())
    ::unsetenv("SSL_CERT_FILE");
  else
    trust(saved);
}

TEST_CASE("provider client: a name lookup that hangs holds back no other provider's calls, and its own ends at the deadline") {
  scripted_server server({[](const auto&) { return ok(R"({"data":[]})"); }});
  const auto port = server.url().substr(server.url().rfind(':'));
  // slow.test's lookup waits until the test lets it go (as a DNS server that does not answer); fast.test's answers
  struct gate {
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
  };
  auto g = std::make_shared<gate>(); // held by the lookup's thread too, which outlives the calls
  auto hanging = [g](const std::string&, std::string&) {
    std::unique_lock<std::mutex> lock{g->m};
    g->cv.wait(lock, [&] { return g->release; });
    return std::vector<std::string>{"127.0.0.1"};
  };
  auto answering = [](const std::string&, std::string&) { return std::vector<std::string>{"127.0.0.1"}; };
  http_client slow("http://slow.test" + port + "/v1", 1s, hanging);
  http_client fast("http://fast.test" + port + "/v1", 5s, answering);

  auto waiting = std::make_shared<std::promise<http_result>>();
  auto slow_answer = waiting->get_future();
  slow.send(http_request("POST", "images/generations"), [waiting](http_result r) { waiting->set_value(std::move(r)); });
  const auto r = call(fast, http_request("POST", "images/generations")); // while slow.test's lookup still hangs
  CHECK(r.status == 200);

  REQUIRE(slow_answer.wait_for(20s) == std::future_status::ready); // its deadline: the lookup still hangs
  const auto timed_out = slow_answer.get();
  CHECK(timed_out.status == 0);
  CHECK(timed_out.transport_error == core::error_class::timeout);
  CHECK(timed_out.transport_message.rfind("resolving slow.test", 0) == 0);
  {
    std::lock_guard<std::mutex> guard{g->m};
    g->release = true;
  }
  g->cv.notify_all();
  // the lookup, let go, serves slow.test's next call (a new lookup, or the one just ended)
  CHECK(call(slow, http_request("POST", "images/generations")).status == 200);
}

TEST_CASE("provider client: a name with no address is a server failure that names the host and why") {
  auto none = [](const std::string&, std::string& why) {
    why = "Name or service not known";
    return std::vector<std::string>{};
  };
  http_client client("http://nowhere.test:8080/v1", 5s, none);
  const auto r = call(client, http_request("POST", "images/generations"));
  CHECK(r.status == 0);
  CHECK(r.transport_error == core::error_class::server);
  CHECK(r.transport_message.rfind("resolving nowhere.test (Name or service not known)", 0) == 0);
}

TEST_CASE("provider client: the system's lookup finds localhost's addresses") {
  const auto lookup = providers::detail::system_name_lookup(); // (from /etc/hosts: no DNS server is asked)
  std::string why;
  const auto found = lookup("localhost", why);
  REQUIRE_FALSE(found.empty());
  for (const auto& a : found)
    CHECK((a == "127.0.0.1" || a == "::1"));
  CHECK(why.empty());
}
