// Where result image files live (adapters/images): one of 256 folders made when the store opens, so writing an image
// makes its file and no folder; images an earlier version stored two folder levels deep are still read and removed.
// Real files in a temporary folder, no flush (store.synchronous: off).

#include "adapters/images/image_files.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

using namespace cutover;
namespace fs = std::filesystem;

namespace {

struct image_dir {
  fs::path dir;
  image_dir() {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("cutover-image-layout-test-" + std::to_string(rd()) + std::to_string(rd()));
  }
  ~image_dir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::shared_ptr<images::image_files> open() const {
    images::image_files_options o;
    o.dir = dir.string();
    o.fsync = false;
    return std::make_shared<images::image_files>(o);
  }
};

const core::instant t0{std::chrono::seconds(1767225600)};
const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "a kite";

std::size_t count(const fs::path& dir, bool folders) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    n += e.is_directory() == folders ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("the image store opens with 256 folders, and an image goes into its digest's folder without making one",
          "[images]") {
  image_dir d;
  auto files = d.open();
  CHECK(count(d.dir, true) == 256);
  for (const char* name : {"00", "0f", "a7", "ff"})
    CHECK(fs::is_directory(d.dir / name));

  const auto digest = files->put(png, t0);
  REQUIRE(digest == images::sha256_hex(png));
  const auto file = d.dir / digest.substr(0, 2) / (digest + ".png");
  REQUIRE(fs::exists(file));
  CHECK(fs::file_size(file) == png.size());
  CHECK(count(d.dir, true) == 256); // no folder made for it
  CHECK(count(d.dir, false) == 1);  // and no temporary file left behind
  CHECK(files->read(digest) == png);
}

TEST_CASE("an image an earlier version stored two folder levels deep is still read, and removed", "[images]") {
  image_dir d;
  auto files = d.open();
  const auto digest = images::sha256_hex(png);
  const auto legacy = d.dir / digest.substr(0, 2) / digest.substr(2, 2) / (digest + ".png");
  fs::create_directories(legacy.parent_path());
  std::ofstream(legacy, std::ios::binary) << png;

  CHECK(files->read(digest) == png);
  CHECK(files->remove(digest, t0)); // not written by this process: the sweep's cutoff does not hold it back
  CHECK_FALSE(fs::exists(legacy));
  CHECK_FALSE(files->read(digest).has_value());
  CHECK_FALSE(files->remove(digest, t0)); // nothing left to remove
}

TEST_CASE("a folder of the image store removed by hand is made again by the next image that needs it", "[images]") {
  image_dir d;
  auto files = d.open();
  const auto digest = images::sha256_hex(png);
  fs::remove(d.dir / digest.substr(0, 2));
  REQUIRE_FALSE(fs::exists(d.dir / digest.substr(0, 2)));

  CHECK(files->put(png, t0) == digest);
  CHECK(fs::exists(d.dir / digest.substr(0, 2) / (digest + ".png")));
  CHECK(files->read(digest) == png);
}

TEST_CASE("the same bytes stored twice leave one file, and other bytes left under their name are replaced",
          "[images]") {
  image_dir d;
  auto files = d.open();
  const auto digest = images::sha256_hex(png);
  const auto file = d.dir / digest.substr(0, 2) / (digest + ".png");
  CHECK(files->put(png, t0) == digest);
  CHECK(files->put(png, t0) == digest);
  CHECK(count(d.dir, false) == 1);
  CHECK(files->read(digest) == png);

  // a crash before the flush can leave the name with bytes that never reached the disk: the next store of those
  // bytes writes them again
  for (const std::string& left : {std::string{}, std::string(png.size(), '\0')}) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << left;
    REQUIRE(fs::file_size(file) == left.size());
    CHECK(files->put(png, t0) == digest);
    CHECK(files->read(digest) == png);
    CHECK(count(d.dir, false) == 1);
  }
}

TEST_CASE("an image in both layouts is read from the current one, and its removal takes both files", "[images]") {
  image_dir d;
  auto files = d.open();
  const auto digest = files->put(png, t0);
  const auto current = d.dir / digest.substr(0, 2) / (digest + ".png");
  const auto legacy = d.dir / digest.substr(0, 2) / digest.substr(2, 2) / (digest + ".png");
  fs::create_directories(legacy.parent_path());
  std::ofstream(legacy, std::ios::binary) << "the bytes an older version kept";

  CHECK(files->read(digest) == png);
  files->committed({digest}); // a committed row named it, and it was stored before the sweep's cutoff
  CHECK(files->remove(digest, t0 + std::chrono::hours(2)));
  CHECK_FALSE(fs::exists(current));
  CHECK_FALSE(fs::exists(legacy));
  CHECK_FALSE(files->read(digest).has_value());
}
