#pragma once
/// HTTPS on the API's own port (`server.tls`): the certificate and key, loaded once at start. Opaque here, so that
/// only the listener and the loader include Asio's SSL headers. Loading fails with a message that names the key
/// and the file, so a wrong path or a key that does not match the certificate stops the start, not the first client.

#include <memory>
#include <string>

namespace cutover::http {

struct tls_context;

/// Loads a PEM certificate chain and its private key; throws std::runtime_error ("server.tls.cert_file: ...") when
/// a file cannot be read, is not PEM, or the key does not belong to the certificate.
std::shared_ptr<tls_context> load_tls(const std::string& cert_file, const std::string& key_file);

} // namespace cutover::http
