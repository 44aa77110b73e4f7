// strict_config: claud's config files are read strictly; every error names its line and what was
// expected, and nothing is guessed.

#include "cli/strict_config.hpp"

#include <sstream>

#include <catch2/catch.hpp>

using claud::cli::strict_config;

namespace {

const std::vector<std::string> keys{"role", "listen", "label", "slave-timeout-ms", "log"};

std::vector<CLI::ConfigItem> parse(const std::string& text) {
  std::istringstream input{text};
  return strict_config{keys}.from_config(input);
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const CLI::ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

} // namespace

TEST_CASE("a well-formed file gives every key its values") {
  auto items = parse("# a comment\n\nrole = \"master\"   # trailing\r\n"
                     "slave-timeout-ms = 2000\nlabel = [\"zone=a\", \"disk=\\\"s\\\\d\\\"\"]\n"
                     "log=warn\n");
  REQUIRE(items.size() == 4);
  CHECK(items[0].name == "role");
  CHECK(items[0].inputs == std::vector<std::string>{"master"});
  CHECK(items[1].inputs == std::vector<std::string>{"2000"});
  CHECK(items[2].inputs == std::vector<std::string>{"zone=a", "disk=\"s\\d\""});
  CHECK(items[3].inputs == std::vector<std::string>{"warn"});
  CHECK(parse("label = []\n")[0].inputs.empty());
}

TEST_CASE("every malformed line is refused with its number and what was expected") {
  CHECK(error_of("role = \"master\nlog = warn\n")
        == "line 1: unterminated quote in the value of 'role'");
  CHECK(error_of("\njust words\n") == "line 2: expected key = value, got 'just words'");
  CHECK(error_of("[[[unclosed\n")
        == "line 1: '[[[unclosed': claud's config has no sections; write key = value");
  CHECK(error_of("label = [\"a\", \"b\"\n")
        == "line 1: unclosed [ in the value of 'label' (an array is on one line: [\"a\", \"b\"])");
  CHECK(error_of("role = \"master\" extra\n")
        == "line 1: unexpected 'extra' after the value of 'role'");
  CHECK(error_of("role =\n")
        == "line 1: expected a value for 'role' (a \"string\", a number, true or false)");
  CHECK(error_of("role = a\nrole = b\n") == "line 2: 'role' is given twice (first on line 1)");
  CHECK(error_of("log = w\x01rn\n") == "line 1: a control byte 0x01; a config file is text");
}

TEST_CASE("an unknown key suggests the nearest known one") {
  CHECK(error_of("slave-timout-ms = 10\n")
        == "line 1: unknown option 'slave-timout-ms'; did you mean 'slave-timeout-ms'?");
  CHECK(error_of("frobnicate = 1\n")
        == "line 1: unknown option 'frobnicate'; config/*.conf lists every option");
}

TEST_CASE("random bytes and oversized files are refused") {
  std::string noise;
  for (int i = 0; i < 4096; ++i)
    noise += static_cast<char>((i * 7919 + 13) % 256);
  CHECK(error_of(noise).rfind("line 1: ", 0) == 0);
  CHECK(error_of(std::string(claud::cli::max_config_bytes + 1, '#'))
        == "larger than 1024 KiB; a config file is a few lines");
}
