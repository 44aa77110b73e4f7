// printable: bytes that are not UTF-8 are shown as \xNN; valid UTF-8 passes unchanged.

#include "log/printable.hpp"

#include <catch2/catch.hpp>

using claud::log::printable;

TEST_CASE("valid UTF-8 is unchanged") {
  for (const std::string text : {"", "plain ascii", "grüße", "日本語", "\xf0\x9f\x98\x80 emoji"}) {
    CHECK(printable(text) == text);
  }
}

TEST_CASE("every byte outside a valid sequence is escaped, and the rest kept") {
  CHECK(printable("\xff") == "\\xff");
  CHECK(printable("a\xfe\xff"
                  "b")
        == "a\\xfe\\xffb");
  CHECK(printable("\xc3") == "\\xc3");                            // a sequence cut short
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                   // an overlong form
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");          // a surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80"); // above U+10FFFF
  CHECK(printable("\xe2\x82\xac\xff") == "\xe2\x82\xac\\xff");
}
