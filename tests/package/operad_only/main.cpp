// A find_package(witness COMPONENTS operad) consumer: composes two pipelines and checks the
// laws of a shipped suite, with no ledger in sight.
#include <cstdio>

#include "witness/operad/pipeline.hpp"
#include "witness/operad/suites.hpp"

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
  auto laws = op::run_suite("pipeline", {.cases = 20, .seed = 1});
  if (!laws || !laws->passed()) return 1;
  std::printf("operad-only consumer ok: %s(5) = %lld\n", four->name().c_str(),
              static_cast<long long>(y->as_int()));
  return 0;
}
