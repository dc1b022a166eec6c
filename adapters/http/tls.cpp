#include "adapters/http/tls_context.hpp"

#include <openssl/ssl.h>

#include <fstream>
#include <stdexcept>

namespace cutover::http {

namespace {

void readable(const char* key, const std::string& path) {
  if (!std::ifstream(path).good())
    throw std::runtime_error(std::string("server.tls.") + key + ": cannot read " + path);
}

} // namespace

std::shared_ptr<tls_context> load_tls(const std::string& cert_file, const std::string& key_file) {
  readable("cert_file", cert_file);
  readable("key_file", key_file);
  auto tls = std::make_shared<tls_context>();
  auto& ctx = tls->ssl;
  // TLS 1.2 and later only; no renegotiation by clients (a cheap way to make a server work hard)
  ctx.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                  boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                  boost::asio::ssl::context::no_tlsv1_1 | boost::asio::ssl::context::single_dh_use);
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec)
    throw std::runtime_error("server.tls.cert_file: " + cert_file + " is not a PEM certificate (" + ec.message() + ")");
  ctx.use_private_key_file(key_file, boost::asio::ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("server.tls.key_file: " + key_file + " is not a PEM private key of the certificate in " +
                             cert_file + " (" + ec.message() + ")");
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    throw std::runtime_error("server.tls.key_file: " + key_file + " is not the private key of the certificate in " +
                             cert_file);
  return tls;
}

} // namespace cutover::http
