// How long the image store takes to write result images as files (adapters/images): N distinct small images, as a
// 10,000-job run of the budget test writes (about 25,000), without and with fsync. Prints figures; asserts nothing.
//   cutover-image-put-bench [N] [fsync: 0|1] [DIR]

#include "adapters/images/image_files.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 25000;
  const bool fsync = argc > 2 && std::string{argv[2]} == "1";
  std::random_device rd;
  const auto dir = argc > 3 ? std::filesystem::path(argv[3])
                            : std::filesystem::temp_directory_path() / ("cutover-put-bench-" + std::to_string(rd()));
  cutover::images::image_files_options o;
  o.dir = dir.string();
  o.fsync = fsync;
  auto files = std::make_shared<cutover::images::image_files>(o);
  const cutover::core::instant now{std::chrono::seconds(1767225600)};
  std::string bytes = "\x89PNG\r\n\x1a\n a bench image of about a hundred bytes, distinct by its counter: ";
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  for (long i = 1; i <= n; ++i) {
    files->put(bytes + std::to_string(i), now + std::chrono::milliseconds(i)); // all within the hour
    if (i % (n / 5 > 0 ? n / 5 : 1) == 0) {
      const auto t = std::chrono::steady_clock::now();
      std::printf("images %6ld: last slice %.1f us per image\n", i,
                  std::chrono::duration<double, std::micro>(t - last).count() / static_cast<double>(n / 5 > 0 ? n / 5 : 1));
      last = t;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%ld images, fsync %s: %.2f s, %.1f us per image\n", n, fsync ? "on" : "off", s, s * 1e6 / n);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
