#include "adapters/http/listener_session.hpp"
#include "core/thread_name.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/resource.h>

#include <future>
#include <stdexcept>
#include <thread>

namespace cutover::http {

using namespace detail; // the session, its shared state and the names of the libraries it uses

namespace {

/// Over max_connections: one canned 503, then the socket closes (it was never read, so linger as well). Over TLS
/// the handshake comes first (bounded by the same linger time), so that the client can read the 503.
template <class Stream>
void refuse_connection(tcp::socket socket, shared_state& state) {
  struct refusal : std::enable_shared_from_this<refusal> {
    Stream stream;
    std::string raw = closing_answer(503, "Service Unavailable", "too_many_connections",
                                     "the server has too many open connections; retry shortly", "Retry-After: 1\r\n");
    std::array<char, 4096> scratch{};
    refusal(tcp::socket s, shared_state& st) : stream(make_stream<Stream>(std::move(s), st)) {}
    void start() {
      beast::get_lowest_layer(stream).expires_after(linger_for);
      if constexpr (is_tls<Stream>)
        stream.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
          if (!ec)
            self->answer();
        });
      else
        answer();
    }
    void answer() {
      net::async_write(stream, net::buffer(raw), [self = this->shared_from_this()](error_code ec, std::size_t) {
        error_code ignored;
        beast::get_lowest_layer(self->stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
        if (!ec)
          self->drain();
      });
    }
    void drain() {
      stream.async_read_some(net::buffer(scratch), [self = this->shared_from_this()](error_code ec, std::size_t) {
        if (!ec)
          self->drain();
      });
    }
  };
  std::make_shared<refusal>(std::move(socket), state)->start();
}

/// A new connection, served or refused, plain or TLS.
template <class Stream>
void take(tcp::socket socket, const std::shared_ptr<shared_state>& state) {
  if (state->connections.load() >= state->opts.max_connections)
    refuse_connection<Stream>(std::move(socket), *state);
  else
    std::make_shared<session<Stream>>(std::move(socket), state)->start();
}

} // namespace

struct listener::impl : std::enable_shared_from_this<listener::impl> {
  std::shared_ptr<shared_state> state = std::make_shared<shared_state>(); // first: destroyed last
  net::io_context& ioc = state->ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};
  std::vector<std::thread> threads;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open())
        return;
      if (ec) { // out of file descriptors, typically: wait a little instead of spinning
        core::log_line{} << "event=accept_failed error=\"" << ec.message() << "\"";
        self->retry.expires_after(std::chrono::milliseconds(50));
        self->retry.async_wait([self](error_code e) {
          if (!e)
            self->accept();
        });
        return;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (self->state->opts.tls)
        take<tls_stream>(std::move(socket), self->state);
      else
        take<beast::tcp_stream>(std::move(socket), self->state);
      self->accept();
    });
  }
};

listener::listener(listener_options opts, body_limit_fn limit, handler_fn handle) : impl_(std::make_shared<impl>()) {
  impl_->state->opts = std::move(opts);
  impl_->state->limit = std::move(limit);
  impl_->state->handle = std::move(handle);
}

listener::~listener() { close(); }

void listener::open() {
  const auto& listen = impl_->state->opts.listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("cannot listen on " + listen + ": expected HOST:PORT");
  auto host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    tcp::resolver resolver{impl_->ioc};
    const auto results = resolver.resolve(host, listen.substr(colon + 1), tcp::resolver::passive);
    if (results.empty())
      throw std::runtime_error("no address for " + host);
    const tcp::endpoint endpoint = *results.begin();
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(net::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    error_code ignored;
    impl_->acceptor.close(ignored);
    throw std::runtime_error("cannot listen on " + listen + ": " + e.what());
  }
  impl_->work.emplace(net::make_work_guard(impl_->ioc));
  impl_->accept();
  const auto n = std::max<std::size_t>(1, impl_->state->opts.threads);
  for (std::size_t i = 0; i < n; ++i)
    impl_->threads.emplace_back([ioc = &impl_->ioc] {
      core::name_this_thread("cutover-http");
      ioc->run();
    });
}

void listener::close() {
  if (impl_->threads.empty())
    return;
  auto closed = std::make_shared<std::promise<void>>();
  net::post(impl_->ioc, [self = impl_, closed] {
    error_code ignored;
    self->acceptor.close(ignored);
    self->retry.cancel();
    closed->set_value();
  });
  closed->get_future().wait_for(std::chrono::seconds(5)); // shutdown only
  impl_->work.reset();
  impl_->ioc.stop(); // connections still open are dropped with the io_context
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

int listener::port() const {
  error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t listener::connections() const { return impl_->state->connections.load(); }

std::size_t raise_open_files_limit(std::size_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 0;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    rlimit next = lim;
    next.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(wanted, lim.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &next) == 0)
      lim = next;
  }
  return lim.rlim_cur == RLIM_INFINITY ? wanted : static_cast<std::size_t>(lim.rlim_cur);
}

} // namespace cutover::http
