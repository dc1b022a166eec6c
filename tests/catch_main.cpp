#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "app/process_tuning.hpp"

int main(int argc, char* argv[]) {
  cutover::app::tune_allocator(); // as the engine itself runs
  return Catch::Session().run(argc, argv);
}
