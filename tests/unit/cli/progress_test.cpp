// progress_line: the bar of a wait, for one job and for many, at every width.
#include "cli/progress.hpp"

#include <catch2/catch.hpp>

using namespace claud;
using namespace claud::cli;
using std::chrono::milliseconds;

TEST_CASE("one job: what it is doing and for how long") {
  wait_progress p;
  p.total = 1;
  CHECK(progress_line("12", p, milliseconds{1500}, 80) == "job 12: pending  1.5s");
  p.running = 1;
  CHECK(progress_line("12", p, milliseconds{61'000}, 80) == "job 12: running  1m01s");
}

TEST_CASE("many jobs: a bar of the ended, the failed and running counts") {
  wait_progress p;
  p.total = 20;
  p.ended = 10;
  p.unsuccessful = 1;
  p.running = 3;
  const auto line = progress_line("", p, milliseconds{4200}, 100);
  CHECK(line
        == "[" + std::string(20, '#') + std::string(20, '.')
               + "] 10/20 ended, 1 failed, 3 running  4.2s");
  // Narrow: the bar shrinks, then goes; the line never passes the width.
  const auto narrow = progress_line("", p, milliseconds{4200}, 55);
  CHECK(narrow.size() <= 55);
  CHECK(narrow.rfind("[##", 0) == 0);
  CHECK(progress_line("", p, milliseconds{4200}, 30) == "10/20 ended, 1 failed, 3 runni");
  p.ended = 20;
  CHECK(progress_line("", p, milliseconds{4200}, 100).rfind("[" + std::string(40, '#') + "]", 0)
        == 0);
}

TEST_CASE("elapsed times") {
  CHECK(elapsed_text(milliseconds{400}) == "0.4s");
  CHECK(elapsed_text(milliseconds{185'000}) == "3m05s");
  CHECK(elapsed_text(milliseconds{7'800'000}) == "2h10m");
}
