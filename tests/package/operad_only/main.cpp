// A find_package(witness COMPONENTS operad) consumer: composes typed pipelines and runs them,
// with no ledger and no RapidCheck in sight (the law engine is the separate `laws` component).
#include <cstdio>

#include "witness/operad/pipeline.hpp"

namespace op = witness::operad;

int main() {
  auto twice = op::Pipeline::make("twice", {op::Type::integer()}, op::Type::integer(),
                                  [](std::span<const op::Value> x) -> witness::Result<op::Value> {
                                    return op::Value(2 * x[0].as_int());
                                  });
  if (!twice) return 1;
  auto four = compose(*twice, 0, *twice);
  if (!four) return 1;
  auto y = (*four)(std::vector<op::Value>{op::Value(std::int64_t{5})});
  if (!y || y->as_int() != 20) return 1;
  auto bad = op::Pipeline::make(
      "text", {op::Type::text()}, op::Type::text(),
      [](std::span<const op::Value> x) -> witness::Result<op::Value> { return x[0]; });
  if (!bad || compose(*twice, 0, *bad)) return 1;  // text into an int input: refused
  std::printf("operad-only consumer ok: %s(5) = %lld\n", four->name().c_str(),
              static_cast<long long>(y->as_int()));
  return 0;
}
