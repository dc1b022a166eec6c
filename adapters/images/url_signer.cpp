#include "adapters/images/url_signer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cutover::images {

namespace {

std::string hex(const unsigned char* d, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

long long unix_seconds(core::instant t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace

loaded_secret load_url_secret(const std::string& data_dir) {
  loaded_secret out;
  if (const char* v = std::getenv(secret_env); v != nullptr && *v != '\0') {
    out.secret = v;
    out.source = std::string{"env "} + secret_env;
    return out;
  }
  const auto path = (std::filesystem::path(data_dir) / secret_file).string();
  out.source = path;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  // made once: O_EXCL, so two engines starting together on one data directory end up with the same secret
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      ::close(fd);
      ::unlink(path.c_str());
      out.error = "no random bytes for the image URL secret";
      return out;
    }
    const auto text = hex(raw, sizeof raw) + "\n";
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      out.error = "cannot write " + path + ": " + std::strerror(errno);
      return out;
    }
  } else if (errno != EEXIST) {
    out.error = "cannot create " + path + ": " + std::strerror(errno);
    return out;
  }
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  out.secret = trimmed(s.str());
  if (out.secret.size() < 16) {
    out.error = path + " holds no secret (at least 16 characters); delete it to have a new one made";
    out.secret.clear();
  }
  return out;
}

std::string url_signer::sign(const std::string& digest, long long exp) const {
  const auto text = digest + ":" + std::to_string(exp);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  return hex(mac, len);
}

std::string url_signer::url(const std::string& digest, core::instant now) const {
  const auto exp = unix_seconds(now + ttl_);
  return public_url_ + "/v1/images/" + digest + "?exp=" + std::to_string(exp) + "&sig=" + sign(digest, exp);
}

url_signer::verdict url_signer::check(const std::string& digest, const std::string& exp_text, const std::string& sig,
                                      core::instant now) const {
  if (exp_text.empty() || exp_text.size() > 18 || exp_text.find_first_not_of("0123456789") != std::string::npos)
    return verdict::bad;
  const long long exp = std::stoll(exp_text);
  const auto want = sign(digest, exp);
  if (sig.size() != want.size() || CRYPTO_memcmp(sig.data(), want.data(), want.size()) != 0)
    return verdict::bad;
  return unix_seconds(now) > exp ? verdict::expired : verdict::ok;
}

} // namespace cutover::images
