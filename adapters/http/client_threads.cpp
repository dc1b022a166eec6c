// cpprestsdk's task pool, which the webhook and image-download clients use (the API itself is served by the
// listener's threads, provider calls by their own client's thread).

#include "adapters/http/server.hpp"

#include <pplx/threadpool.h>

namespace cutover::http {

void init_http_threads(std::size_t threads) { crossplat::threadpool::initialize_with_threads(threads); }

} // namespace cutover::http
