// Result and Status (witness/base/result.hpp): the predicate says what the value is, the
// factory makes a success, and an rvalue Result hands its value out by value.
#include "witness/base/result.hpp"

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace {

witness::Status fails() { return witness::invalid_argument("nope"); }
witness::Status succeeds() { return witness::ok_status(); }

// The trap this guards against: with ok() a static factory, `if (!s.ok())` built a new success
// and never fired, so this returned 0 for a failure.
int propagate(const witness::Status& s) {
  if (!s.ok()) return 1;
  return 0;
}

witness::Result<std::vector<int>> numbers() { return std::vector<int>{1, 2, 3}; }

}  // namespace

TEST_CASE("Status::ok() is a predicate and ok_status() a success", "[base]") {
  CHECK(succeeds().ok());
  CHECK_FALSE(fails().ok());
  CHECK(propagate(fails()) == 1);
  CHECK(propagate(succeeds()) == 0);
  CHECK(fails().error().message == "nope");
  CHECK(static_cast<bool>(witness::ok_status()));
  CHECK(witness::error_code_name(witness::ErrorCode::kUnavailable) == "Unavailable");
}

TEST_CASE("an rvalue Result gives its value by value, so a range-for over it is safe", "[base]") {
  int sum = 0;
  for (int n : *numbers()) sum += n;  // the temporary Result ends before the loop body runs
  CHECK(sum == 6);
  static_assert(std::is_same_v<decltype(*numbers()), std::vector<int>>);
  auto owned = *witness::Result<std::unique_ptr<int>>(std::make_unique<int>(7));
  CHECK(*owned == 7);
}
