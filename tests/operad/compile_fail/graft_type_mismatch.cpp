// Built by ctest twice: as is, it must compile (the control); with WITNESS_COMPILE_FAIL, the
// ill-typed graft must not, with the static_assert's message (tests/CMakeLists.txt).
#include <string>

#include "witness/operad/typed_agent.hpp"

int main() {
  const witness::operad::Agent<int(int, std::string)> f(
      [](int a, const std::string& s) { return a + static_cast<int>(s.size()); });
  const witness::operad::Agent<std::string(double)> g([](double) { return std::string("x"); });
#ifdef WITNESS_COMPILE_FAIL
  const auto h = witness::operad::graft<0>(f, g);  // input 0 is an int, g yields a string
#else
  const auto h = witness::operad::graft<1>(f, g);
#endif
  return h(1, 2.0) == 2 ? 0 : 1;
}
