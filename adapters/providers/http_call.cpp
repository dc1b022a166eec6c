#include "adapters/providers/http_call.hpp"
#include "core/thread_name.hpp"

#include "core/http_url.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>
#include <thread>

namespace cutover::providers::detail {

std::string http_result::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

http_request& http_request::header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

http_request& http_request::json(const web::json::value& v) {
  body = v.serialize();
  return *this;
}

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::uint32_t max_header_bytes = 64u << 10;
constexpr std::size_t max_idle_connections = 256;        ///< per client; more are closed when their call ends
/// A connection idle longer is closed rather than reused: a NAT or firewall on the way may have forgotten it
/// without telling either end, and a call on it would wait out its whole timeout.
constexpr std::chrono::seconds max_idle_for{30};
/// Answers up to this size are parsed on the I/O thread; larger ones (images in base64) on the parse pool, so one
/// answer's parsing holds no other call's reads and timers back.
constexpr std::size_t parse_inline_below = 64u << 10;

/// Whether the clients' I/O thread still takes work, under its lock: a name lookup that ends while the process exits
/// (its thread is detached) must not post to the I/O context once that is gone.
std::mutex io_lock;
bool io_open = true;

/// The one thread every provider client's connections run on, made at the first client and stopped at exit.
/// One thread: a call costs tens of microseconds of it, and the pools need no lock.
class client_io {
public:
  client_io() : work_(net::make_work_guard(ioc_)), thread_([this] {
      core::name_this_thread("cutover-client");
      ioc_.run();
    }) {}
  ~client_io() {
    {
      std::lock_guard<std::mutex> guard{io_lock};
      io_open = false;
    }
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  net::io_context& ioc() { return ioc_; }
  net::thread_pool& parsers() { return parsers_; }
  static client_io& get() {
    static client_io io;
    return io;
  }

private:
  net::thread_pool parsers_{2};
  net::io_context ioc_{1};
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread thread_;
};

/// One connection to the host, plain or TLS.
struct connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  steady::time_point idle_since{};

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  template <class F> void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*plain);
  }
  /// Whether a connection that waited in the pool may carry another call: the server neither closed it nor sent
  /// anything unasked (a close_notify, an error page), as one look at the socket without reading tells.
  bool reusable() {
    if (buffer.size() > 0 || !lowest().socket().is_open() || steady::now() - idle_since > max_idle_for)
      return false;
    char byte = 0;
    const auto n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

} // namespace

struct http_client::state {
  net::io_context& ioc;
  core::http_url url;
  std::string host_header;
  steady::duration timeout;
  std::unique_ptr<net::ssl::context> ssl;            ///< https only
  std::vector<std::unique_ptr<connection>> idle;     ///< touched on the I/O thread only
  name_lookup lookup;
  /// The calls waiting for the lookup under way (none when none is): touched on the I/O thread only.
  std::vector<std::function<void(const std::vector<tcp::endpoint>&, const std::string&)>> looking_up;
};

namespace {

/// One call: a pooled or new connection, the request written, the answer read, `done` called once.
class call : public std::enable_shared_from_this<call> {
public:
  call(std::shared_ptr<http_client::state> client, http_request r, std::function<void(http_result)> done)
    : client_(std::move(client)), timer_(client_->ioc), done_(std::move(done)),
      deadline_(steady::now() + client_->timeout) {
    req_.method_string(r.method);
    req_.target(core::request_target(client_->url.path, r.path));
    req_.version(11);
    req_.set(bhttp::field::host, client_->host_header);
    req_.set(bhttp::field::user_agent, "cutover");
    for (auto& [name, value] : r.headers)
      req_.set(name, value);
    if (!r.body.empty()) {
      req_.set(bhttp::field::content_type, "application/json");
      req_.body() = std::move(r.body);
    }
    req_.keep_alive(true);
    req_.prepare_payload();
  }

  void start() {
    auto& idle = client_->idle;
    while (!idle.empty()) {
      conn_ = std::move(idle.back());
      idle.pop_back();
      if (conn_->reusable()) {
        reused_ = true;
        write();
        return;
      }
    }
    open();
  }

private:
  void open() {
    reused_ = false;
    conn_ = std::make_unique<connection>();
    if (client_->ssl)
      conn_->tls.emplace(client_->ioc, *client_->ssl);
    else
      conn_->plain.emplace(client_->ioc);
    const auto port = static_cast<unsigned short>(std::stoi(client_->url.port));
    beast::error_code not_address;
    const auto address = net::ip::make_address(client_->url.host, not_address);
    if (!not_address)
      return connect({tcp::endpoint(address, port)});
    // A lookup has no timeout of its own and cannot be stopped: at the call's deadline the call fails, and the
    // lookup's late result only serves the calls still waiting for it.
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->done_)
        return;
      self->fail(beast::error::timeout, "resolving " + self->client_->url.host);
    });
    auto& c = *client_;
    // (weak: a call whose deadline came first is not kept, with its body, for as long as the lookup hangs; while it
    // waits its timer's handler keeps it)
    c.looking_up.push_back([weak = weak_from_this()](const std::vector<tcp::endpoint>& found, const std::string& why) {
      const auto self = weak.lock();
      if (!self || !self->done_)
        return; // the deadline came first
      self->timer_.cancel();
      const auto& host = self->client_->url.host;
      if (found.empty())
        return self->fail(net::error::host_not_found, "resolving " + host + (why.empty() ? "" : " (" + why + ")"));
      self->connect(found);
    });
    if (c.looking_up.size() > 1)
      return; // a lookup is under way: this call waits for it too
    // on a thread of its own: the system's lookup blocks (for as long as DNS takes), and one that hangs must hold
    // back no other provider's calls (asio's resolver runs every client's lookups on one shared thread)
    try {
      std::thread([client = client_, port]() mutable {
        std::string why;
        std::vector<std::string> addresses;
        try {
          addresses = client->lookup(client->url.host, why);
        } catch (const std::exception& e) {
          why = e.what();
        }
        std::vector<tcp::endpoint> found;
        for (const auto& a : addresses) {
          beast::error_code bad;
          const auto address = net::ip::make_address(a, bad);
          if (!bad)
            found.emplace_back(address, port);
        }
        std::lock_guard<std::mutex> guard{io_lock};
        if (io_open) {
          auto& ioc = client->ioc; // (the state goes along: it is let go on the I/O thread, whose pool it holds)
          net::post(ioc, [client = std::move(client), found = std::move(found), why = std::move(why)] {
            serve_lookup(*client, found, why);
          });
        }
      }).detach();
    } catch (const std::system_error& e) { // no thread to be had (a process limit): these calls fail now
      serve_lookup(c, {}, std::string{"no thread for the lookup: "} + e.what());
    }
  }

  static void serve_lookup(http_client::state& client, const std::vector<tcp::endpoint>& found, const std::string& why) {
    auto waiting = std::move(client.looking_up);
    client.looking_up.clear();
    for (auto& w : waiting)
      w(found, why);
  }

  void connect(const std::vector<tcp::endpoint>& found) {
    conn_->lowest().expires_at(deadline_);
    conn_->lowest().async_connect(found, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec)
        return self->fail(ec, "connecting to " + self->client_->host_header);
      self->conn_->lowest().socket().set_option(tcp::no_delay(true), ec);
      if (!self->conn_->tls)
        return self->write();
      const auto& host = self->client_->url.host;
      beast::error_code not_address;
      net::ip::make_address(host, not_address);
      if (not_address && !SSL_set_tlsext_host_name(self->conn_->tls->native_handle(), const_cast<char*>(host.c_str())))
        return self->fail(beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()),
                          "naming the server for TLS");
      self->conn_->tls->set_verify_callback(net::ssl::host_name_verification(host));
      self->conn_->tls->async_handshake(net::ssl::stream_base::client, [self](beast::error_code hec) {
        if (hec)
          return self->fail(hec, "TLS with " + self->client_->host_header);
        self->write();
      });
    });
  }

  void write() {
    conn_->lowest().expires_at(deadline_);
    conn_->with_stream([this](auto& stream) {
      bhttp::async_write(stream, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->stale_or_fail(ec, "sending the request", true);
        self->read();
      });
    });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max()); // n large images in base64, as before
    parser_->header_limit(max_header_bytes);
    conn_->with_stream([this](auto& stream) {
      bhttp::async_read(stream, conn_->buffer, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->stale_or_fail(ec, "reading the answer", false);
        self->finish();
      });
    });
  }

  /// A pooled connection the server closed just as it was taken: the call goes once more on a new connection when
  /// that cannot do a thing twice. A GET may always go again before any byte of its answer came back; any other
  /// method only when the server took no whole request (the write failed). A POST whose connection closed after it
  /// was sent may have started a paid job: that is a failure without an answer, for the engine's rules to judge.
  void stale_or_fail(beast::error_code ec, const std::string& what, bool writing) {
    const bool closed = ec == bhttp::error::end_of_stream || ec == net::error::eof ||
                        ec == net::error::connection_reset || ec == net::error::connection_aborted ||
                        ec == net::error::broken_pipe || ec == net::ssl::error::stream_truncated;
    const bool harmless = writing || req_.method() == bhttp::verb::get;
    if (reused_ && closed && harmless && !(parser_ && parser_->got_some()) && steady::now() < deadline_) {
      conn_.reset();
      return open();
    }
    fail(ec, what);
  }

  void finish() {
    http_result r;
    const bool keep = parser_->keep_alive(); // false for an answer that ended at EOF
    auto answer = parser_->release();
    r.status = static_cast<int>(answer.result_int());
    for (const auto& h : answer) {
      std::string name(h.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      auto& slot = r.headers[name];
      slot = slot.empty() ? std::string(h.value()) : slot + ", " + std::string(h.value());
    }
    r.body = std::move(answer.body());
    if (keep && client_->idle.size() < max_idle_connections) {
      conn_->lowest().expires_never();
      conn_->idle_since = steady::now();
      client_->idle.push_back(std::move(conn_));
    }
    conn_.reset();
    answer_with(std::move(r));
  }

  void fail(beast::error_code ec, const std::string& what) {
    http_result r;
    r.transport_error = ec == beast::error::timeout || ec == net::error::timed_out ? core::error_class::timeout
                                                                                     : core::error_class::server;
    r.transport_message = what + ": " + (ec == beast::error::timeout ? std::string{"timed out"} : ec.message());
    conn_.reset();
    answer_with(std::move(r));
  }

  void answer_with(http_result r) {
    auto done = std::move(done_);
    done_ = nullptr;
    timer_.cancel();
    if (!done)
      return;
    if (r.body.size() < parse_inline_below)
      return done(std::move(r));
    net::post(client_io::get().parsers(), [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  std::shared_ptr<http_client::state> client_;
  bhttp::request<bhttp::string_body> req_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  std::unique_ptr<connection> conn_;
  net::steady_timer timer_;
  std::function<void(http_result)> done_;
  steady::time_point deadline_;
  bool reused_ = false;
};

} // namespace

name_lookup system_name_lookup() {
  return [](const std::string& host, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::vector<std::string> addresses;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
      error = ::gai_strerror(rc);
      return addresses;
    }
    for (auto* a = found; a != nullptr; a = a->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* where = a->ai_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr);
      if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && ::inet_ntop(a->ai_family, where, text, sizeof text))
        addresses.emplace_back(text);
    }
    ::freeaddrinfo(found);
    if (addresses.empty())
      error = "no address";
    return addresses;
  };
}

http_client::http_client(const std::string& base_url, core::duration timeout, name_lookup lookup) {
  auto& ioc = client_io::get().ioc();
  auto url = core::parse_http_url(base_url);
  state_ = std::make_shared<state>(state{ioc, url, url.host_header(), timeout, nullptr, {}, {}, {}});
  state_->lookup = lookup ? std::move(lookup) : system_name_lookup();
  if (url.tls) {
    state_->ssl = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    state_->ssl->set_default_verify_paths();
    state_->ssl->set_verify_mode(net::ssl::verify_peer);
  }
}

http_client::~http_client() {
  // the pool belongs to the I/O thread: it closes the idle connections; calls in flight keep the state alive
  net::post(state_->ioc, [s = state_] { s->idle.clear(); });
}

void http_client::send(http_request req, std::function<void(http_result)> done) {
  if (!state_->url.problem.empty()) {
    http_result r;
    r.transport_error = core::error_class::server;
    r.transport_message = "base_url " + state_->url.problem;
    done(std::move(r));
    return;
  }
  auto c = std::make_shared<call>(state_, std::move(req), std::move(done));
  net::post(state_->ioc, [c] { c->start(); });
}

std::unique_ptr<http_client> make_client(const std::string& base_url, core::duration timeout) {
  return std::make_unique<http_client>(base_url, timeout);
}

std::string api_key_from_env(const std::string& env_name) {
  const char* v = env_name.empty() ? nullptr : std::getenv(env_name.c_str());
  return v == nullptr ? std::string{} : std::string{v};
}

web::json::value parse_json(const std::string& text) {
  std::error_code ec;
  auto v = web::json::value::parse(text, ec);
  return ec ? web::json::value::null() : v;
}

core::provider_reply failure(core::error_class e, std::string message, core::duration retry_after) {
  core::provider_reply r;
  r.error = e;
  r.message = std::move(message);
  r.retry_after = retry_after;
  return r;
}

core::provider_reply transport_failure(const http_result& r) {
  auto out = failure(r.transport_error == core::error_class::none ? core::error_class::server : r.transport_error,
                     r.transport_message);
  out.unanswered = true;
  return out;
}

core::provider_reply nothing_to_cancel(std::string why) {
  core::provider_reply r;
  r.message = std::move(why);
  return r;
}

std::string unexpected_body(const http_result& r) {
  auto excerpt = r.body.substr(0, 120);
  std::replace_if(excerpt.begin(), excerpt.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return "HTTP " + std::to_string(r.status) + " with an unexpected body: " + excerpt;
}

core::provider_reply::item item_result(const core::work_item& item, std::vector<std::string> images) {
  core::provider_reply::item out;
  out.id = item.id;
  if (images.empty()) {
    out.error = core::error_class::bad_response;
    out.message = "the answer has no image data";
    return out;
  }
  out.images = std::move(images);
  return out;
}

} // namespace cutover::providers::detail
