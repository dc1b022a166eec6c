#pragma once
/// One HTTP/1.1 connection of the listener (adapter-internal: only listener.cpp includes it): reads a request
/// within the bounds (header bytes and count, the route's body limit while the body streams, header and idle
/// timeouts), hands it to the handler and writes the answer on the connection's strand. The same code serves a
/// plain TCP stream and TLS over one; only the handshake differs.

#include "adapters/http/listener.hpp"
#include "core/log_line.hpp"

#include "adapters/http/json_out.hpp"
#include "adapters/http/tls_context.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <atomic>
#include <limits>
#include <optional>
#include <type_traits>

namespace cutover::http {

namespace detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// After an answer that ends a connection whose request was not read to its end, the rest of what the client
/// sends is read and dropped for this long before the socket closes: closing with unread bytes makes the kernel
/// send a reset, which can destroy the answer before the client reads it (nginx's lingering close).
constexpr auto linger_for = std::chrono::seconds(5);
/// Bytes asked of the socket while waiting for a request's first byte.
constexpr std::size_t first_read = 4096;

/// What the sessions share with the listener; it lives as long as any of them, and so does the io_context
/// their sockets belong to (an actor's answer may arrive after the listener closed).
struct shared_state {
  net::io_context ioc;
  listener_options opts;
  listener::body_limit_fn limit;
  listener::handler_fn handle;
  std::atomic<std::size_t> connections{0};
};

/// A raw answer for the cases where the request cannot be parsed further; the connection closes after it.
inline std::string closing_answer(int status, const char* reason, std::string_view code,
                                  std::string_view message, const char* extra = "") {
  const auto body = error_json(code, message);
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: application/json\r\n" + extra +
         "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// A plain TCP stream, or TLS over one.
template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

template <class Stream>
Stream make_stream(tcp::socket socket, shared_state& state) {
  if constexpr (is_tls<Stream>)
    return Stream(std::move(socket), state.opts.tls->ssl);
  else
    return Stream(std::move(socket));
}

/// One connection: plain (`beast::tcp_stream`) or TLS (`tls_stream`); everything but the handshake is the same.
template <class Stream>
class session : public response_sink, public std::enable_shared_from_this<session<Stream>> {
public:
  session(tcp::socket socket, std::shared_ptr<shared_state> state)
    : stream_(make_stream<Stream>(std::move(socket), *state)), state_(std::move(state)) {
    ++state_->connections;
  }
  ~session() override { --state_->connections; }

  void start() {
    error_code ec;
    const auto peer = tcp_layer().socket().remote_endpoint(ec);
    if (!ec)
      peer_ = peer.address().to_string();
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->handshake(); });
  }

  void respond(response r) override {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this(), r = std::move(r)]() mutable { self->write(std::move(r)); });
  }

private:
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  /// TLS: the handshake, within header_timeout (a client that opens and sends nothing holds no slot for long).
  void handshake() {
    if constexpr (is_tls<Stream>) {
      tcp_layer().expires_after(state_->opts.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
        if (ec)
          return self->close_now();
        self->wait_request();
      });
    } else {
      wait_request();
    }
  }

  /// Idle until a request's first byte (idle_timeout), then its headers (header_timeout).
  void wait_request() {
    if (buffer_.size() > 0)
      return read_header();
    tcp_layer().expires_after(state_->opts.idle_timeout);
    stream_.async_read_some(buffer_.prepare(first_read), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec)
        return self->close_now();
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->opts.max_header_bytes));
    // a Content-Length is checked against the route's limit once the headers are in (Beast 1.74 treats
    // boost::none here as a limit of zero, so "no limit yet" is the largest number)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    tcp_layer().expires_after(state_->opts.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec == bhttp::error::header_limit)
      return close_with(closing_answer(431, "Request Header Fields Too Large", "headers_too_large",
                                       "the request headers are larger than " +
                                         std::to_string(state_->opts.max_header_bytes) + " bytes"));
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return close_now();
    if (ec)
      return close_with(closing_answer(400, "Bad Request", "malformed_request", "the request is not valid HTTP/1.1: " + ec.message()));
    const auto& req = parser_->get();
    if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) > state_->opts.max_headers)
      return close_with(closing_answer(431, "Request Header Fields Too Large", "too_many_headers",
                                       "the request has more than " + std::to_string(state_->opts.max_headers) +
                                         " headers"));
    const auto target = req.target();
    const auto path = target.substr(0, target.find('?'));
    limit_ = state_->limit(std::string_view(req.method_string().data(), req.method_string().size()),
                           std::string_view(path.data(), path.size()));
    if (parser_->content_length() && *parser_->content_length() > limit_)
      return too_large();
    parser_->body_limit(limit_); // chunked: counted as the chunks arrive
    if (parser_->is_done())
      return dispatch();
    tcp_layer().expires_after(state_->opts.idle_timeout);
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      static const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(go_on), [self = shared_from_this()](error_code ec, std::size_t) {
        if (ec)
          return self->close_now();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec == bhttp::error::body_limit)
        return self->too_large();
      if (ec)
        return self->close_now();
      self->dispatch();
    });
  }

  void too_large() {
    close_with(closing_answer(413, "Payload Too Large", "body_too_large",
                              "the body is larger than " + std::to_string(limit_) + " bytes"));
  }

  void dispatch() {
    auto msg = parser_->release();
    parser_.reset();
    keep_alive_ = msg.keep_alive();
    request r;
    r.method = std::string(msg.method_string());
    const auto target = msg.target();
    const auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != beast::string_view::npos)
      r.query = std::string(target.substr(q + 1));
    r.headers.reserve(8);
    for (const auto& f : msg)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(msg.body());
    r.peer = peer_;
    awaiting_ = true;
    tcp_layer().expires_never(); // the engine may take its time (GET ?wait=); the client's socket stays open
    try {
      state_->handle(std::move(r), reply{shared_from_this()});
    } catch (const std::exception& e) { // a bug in a handler ends its request, not the I/O thread
      core::log_line{} << "event=handler_failed error=\"" << e.what() << "\"";
      write(response{500, error_json("internal", "the request failed inside the server"), "application/json", {}});
    }
  }

  void write(response r) {
    if (!awaiting_)
      return; // answered already
    awaiting_ = false;
    res_.emplace(static_cast<bhttp::status>(r.status), 11);
    res_->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers)
      res_->insert(k, v);
    res_->body() = std::move(r.body);
    res_->keep_alive(keep_alive_);
    res_->prepare_payload();
    tcp_layer().expires_after(state_->opts.idle_timeout); // a client that does not read its answer
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->res_.reset();
      if (ec)
        return self->close_now();
      if (!self->keep_alive_)
        return self->close_now();
      self->wait_request();
    });
  }

  /// Writes `raw`, then drains what the client still sends (for a while) and closes.
  void close_with(std::string raw) {
    raw_ = std::move(raw);
    parser_.reset();
    tcp_layer().expires_after(state_->opts.idle_timeout);
    net::async_write(stream_, net::buffer(raw_), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec)
        return self->close_now();
      error_code ignored;
      self->tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->tcp_layer().expires_after(linger_for);
      self->linger();
    });
  }

  void linger() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec)
        return self->close_now();
      self->linger();
    });
  }

  void close_now() {
    error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_layer().close();
  }

  Stream stream_;
  std::shared_ptr<shared_state> state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::string raw_;
  std::array<char, 16 * 1024> scratch_{};
  std::string peer_;
  std::size_t limit_ = 0;
  bool keep_alive_ = true;
  bool awaiting_ = false;
};

} // namespace detail

} // namespace cutover::http
