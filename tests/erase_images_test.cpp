// A user's erasure and image files shared by content, in virtual time, on the real store actor over a real SQLite
// file and real image files: a file that another user's job has just written, whose outcome is not committed yet,
// survives the erasure of the first user's job with the same bytes; once that outcome is on disk the file is
// judged by its rows like any other.
#include "actors/store_actor.hpp"
#include "adapters/images/image_files.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/virtual_time.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using namespace cutover;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct rig {
  testing::virtual_time vt;
  testing::temp_dir dir;
  std::shared_ptr<images::image_files> files;
  msg::store_actor store;

  rig() {
    images::image_files_options io;
    io.dir = dir.file("images");
    io.fsync = false;
    files = std::make_shared<images::image_files>(io);
    actors::store_options opts;
    opts.clock = vt.anchor();
    opts.images = files;
    store = actors::spawn_store(*vt.sys, store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
                                opts);
    vt.run();
  }
  ~rig() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    vt.run();
  }
  template <class Msg>
  void ask(Msg m) {
    caf::scoped_actor self{*vt.sys};
    self->send(store, std::move(m));
    vt.run();
    self->receive([](const msg::stored&) {}, [](const msg::erased_jobs&) {});
  }
  void insert(std::uint64_t id, const std::string& user) {
    core::job_record j;
    j.id = core::job_id{id};
    j.spec.user_id = user;
    j.spec.prompt = "a kite";
    j.status = core::job_status::accepted;
    j.created_at = j.updated_at = vt.now();
    ask(msg::insert_job{j});
  }
  core::job_event succeeded(std::uint64_t id, std::vector<std::string> images) const {
    core::job_event e;
    e.id = core::job_id{id};
    e.kind = core::event_kind::finished;
    e.at = vt.now();
    e.status = core::job_status::succeeded;
    e.images = std::move(images);
    return e;
  }
  /// The job's outcome naming `digest` reaches the disk.
  void finish(std::uint64_t id, const std::string& digest) { ask(msg::record_events{{succeeded(id, {digest})}}); }
  bool on_disk(const std::string& digest) const { return fs::exists(fs::path(files->dir()) / core::image_relative_path(digest)); }
};

} // namespace

TEST_CASE("erasing a user keeps an image file another user's job wrote and has not committed yet", "[images]") {
  rig r;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "the same bytes for both";
  r.insert(1, "gone");
  const auto digest = r.files->put(png, r.vt.now());
  r.finish(1, digest);
  r.insert(2, "stays");
  r.vt.advance(1s);
  REQUIRE(r.files->put(png, r.vt.now()) == digest); // job 2's worker wrote the same image; its outcome is on its way
  r.vt.advance(1s);                                   // the erasure comes after that write
  r.ask(msg::erase_user_jobs{"gone", ""});
  CHECK(r.on_disk(digest));
  r.finish(2, digest);
  CHECK(r.on_disk(digest));
  // job 2's row now names the file: erasing its user removes it, the guard does not outlive the commit
  r.vt.advance(1s);
  r.ask(msg::erase_user_jobs{"stays", ""});
  CHECK_FALSE(r.on_disk(digest));
}

TEST_CASE("erasing a user removes their image file at once when no other job wrote it", "[images]") {
  rig r;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "bytes of one user";
  r.insert(1, "gone");
  const auto digest = r.files->put(png, r.vt.now());
  r.finish(1, digest);
  r.vt.advance(1s);
  REQUIRE(r.on_disk(digest));
  r.ask(msg::erase_user_jobs{"gone", ""});
  CHECK_FALSE(r.on_disk(digest));
}

TEST_CASE("a job's images of the same bytes, committed in one row, leave no guard behind", "[images]") {
  rig r;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "n=2, twice the same";
  r.insert(1, "gone");
  const auto digest = r.files->put(png, r.vt.now());
  REQUIRE(r.files->put(png, r.vt.now()) == digest); // the second image of the same answer
  r.ask(msg::record_events{{r.succeeded(1, {digest, digest})}});
  r.vt.advance(1s);
  r.ask(msg::erase_user_jobs{"gone", ""});
  CHECK_FALSE(r.on_disk(digest));
}

TEST_CASE("an answer from the result cache does not release the guard of another job's uncommitted write",
          "[images]") {
  rig r;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "cached and written again";
  r.insert(1, "gone");
  const auto digest = r.files->put(png, r.vt.now());
  r.finish(1, digest);
  r.insert(2, "stays");
  r.vt.advance(1s);
  REQUIRE(r.files->put(png, r.vt.now()) == digest); // job 2's write; its outcome is on its way
  r.insert(3, "gone");
  auto routed = r.succeeded(3, {});
  routed.kind = core::event_kind::routed;
  routed.status = core::job_status::queued;
  routed.provider = std::string{core::cache_provider};
  r.ask(msg::record_events{{routed, r.succeeded(3, {digest})}}); // job 3 answered from the cache: it wrote nothing
  r.vt.advance(1s);
  r.ask(msg::erase_user_jobs{"gone", ""});
  CHECK(r.on_disk(digest));
}
