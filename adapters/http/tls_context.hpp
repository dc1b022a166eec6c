#pragma once
/// The OpenSSL context behind `tls_context` (adapter-internal: only the listener and the loader include it).

#include "adapters/http/tls.hpp"

#include <boost/asio/ssl/context.hpp>

namespace cutover::http {

struct tls_context {
  boost::asio::ssl::context ssl{boost::asio::ssl::context::tls_server};
};

} // namespace cutover::http
