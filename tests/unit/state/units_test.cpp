// units: CPU counts and memory sizes as users write them, the one-line errors that name the flag,
// and the short forms the tables print.
#include "state/units.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace claud::state;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kib = 1024;
constexpr int64_t mib = kib * 1024;
constexpr int64_t gib = mib * 1024;

} // namespace

TEST_CASE("CPU counts are decimals in units of 0.001 CPUs") {
  CHECK(parse_cpu_millis("0.5", "--cpus") == 500);
  CHECK(parse_cpu_millis("2", "--cpus") == 2000);
  CHECK(parse_cpu_millis("1.25", "--cpus") == 1250);
  CHECK(parse_cpu_millis("0.001", "--cpus") == 1);
  CHECK(parse_cpu_millis("1.001", "--cpus") == 1001); // 1.001 * 1000 = 1000.99...: rounded
  CHECK(parse_cpu_millis("64", "--cpus") == 64000);
}

TEST_CASE("a wrong CPU count is refused in one line naming the flag and the text") {
  for (const char* bad :
       {"", "-1", "abc", "1e3", "0", "0.0", "1.2.3", " 5", "5 ", "5X", ".", "+2", "2000000"}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_AS(parse_cpu_millis(bad, "--cpus"), std::invalid_argument);
    CHECK_THROWS_WITH(parse_cpu_millis(bad, "--cpus"), Contains("--cpus '" + std::string(bad) + "'")
                                                           && Contains("not a valid CPU count")
                                                           && !Contains("\n"));
  }
  CHECK_THROWS_WITH(parse_cpu_millis("0.0001", "--cpus"),
                    "--cpus '0.0001' is below the smallest unit, 0.001 CPUs");
  CHECK_THROWS_WITH(parse_cpu_millis("x", "--cpu-limit"), Contains("--cpu-limit 'x'"));
}

TEST_CASE("memory sizes take bytes or binary suffixes in any spelling") {
  CHECK(parse_memory_bytes("1048576", "--memory") == mib);
  CHECK(parse_memory_bytes("512K", "--memory") == 512 * kib);
  CHECK(parse_memory_bytes("512M", "--memory") == 512 * mib);
  CHECK(parse_memory_bytes("4G", "--memory") == 4 * gib);
  CHECK(parse_memory_bytes("1.5G", "--memory") == 3 * gib / 2);
  CHECK(parse_memory_bytes("1T", "--memory") == 1024 * gib);
  CHECK(parse_memory_bytes("512MiB", "--memory") == 512 * mib);
  CHECK(parse_memory_bytes("512MB", "--memory") == 512 * mib);
  CHECK(parse_memory_bytes("512mb", "--memory") == 512 * mib);
  CHECK(parse_memory_bytes("2gi", "--memory") == 2 * gib);
  CHECK(parse_memory_bytes("100B", "--memory") == 100);
  CHECK(parse_memory_bytes("1", "--memory") == 1);
}

TEST_CASE("a wrong memory size is refused in one line naming the flag and the text") {
  for (const char* bad : {"", "-1", "abc", "1e3", "0", "0K", "0.5", "1.2.3", " 5", "5 ", "5X", "M",
                          "MiB", "5KK", "5BB", "512i", "512iB", "9000000000T"}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_AS(parse_memory_bytes(bad, "--memory"), std::invalid_argument);
    CHECK_THROWS_WITH(parse_memory_bytes(bad, "--memory"),
                      Contains("--memory '" + std::string(bad) + "' is not a valid size")
                          && !Contains("\n"));
  }
}

TEST_CASE("format_cpus prints the shortest decimal") {
  CHECK(format_cpus(1500) == "1.5");
  CHECK(format_cpus(1000) == "1");
  CHECK(format_cpus(250) == "0.25");
  CHECK(format_cpus(1) == "0.001");
  CHECK(format_cpus(0) == "0");
  CHECK(format_cpus(64000) == "64");
}

TEST_CASE("format_bytes prints up to four digits and a binary suffix") {
  CHECK(format_bytes(0) == "0");
  CHECK(format_bytes(1023) == "1023");
  CHECK(format_bytes(1024) == "1K");
  CHECK(format_bytes(1536) == "1.5K");
  CHECK(format_bytes(512 * mib) == "512M");
  CHECK(format_bytes(3 * gib / 2) == "1.5G");
  CHECK(format_bytes(1024 * gib) == "1T");
  CHECK(format_bytes(2048 * 1024 * gib) == "2048T");
}

TEST_CASE("what format_bytes prints, parse_memory_bytes reads back") {
  for (int64_t bytes : {int64_t{1}, 1536 * kib, 512 * mib, 3 * gib / 2, 4 * gib, 1024 * gib})
    CHECK(parse_memory_bytes(format_bytes(bytes), "--memory") == bytes);
}

TEST_CASE("durations take ms, s, m, h or d, and print in the largest unit that fits") {
  CHECK(parse_duration_ms("500ms", "--timeout") == 500);
  CHECK(parse_duration_ms("30s", "--timeout") == 30'000);
  CHECK(parse_duration_ms("1.5h", "--timeout") == 5'400'000);
  CHECK(parse_duration_ms("2m", "--timeout") == 120'000);
  CHECK(parse_duration_ms("1d", "--timeout") == 86'400'000);
  for (const char* bad : {"", "30", "s", "-5s", "0s", "0.1ms", "lots", "5 s", "1e3s", "5sec"})
    CHECK_THROWS_WITH(parse_duration_ms(bad, "--timeout"),
                      "--timeout '" + std::string(bad)
                          + "' is not a duration; give a number with ms, s, m, h or d, such as "
                            "30s or 1.5h");
  CHECK(format_duration_ms(500) == "500ms");
  CHECK(format_duration_ms(1234) == "1234ms");
  CHECK(format_duration_ms(30'000) == "30s");
  CHECK(format_duration_ms(90'000) == "1.5m");
  CHECK(format_duration_ms(5'400'000) == "1.5h");
  CHECK(format_duration_ms(86'400'000) == "1d");
}
