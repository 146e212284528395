#include "witness/operad/semilattice.hpp"

#include <algorithm>
#include <iterator>

namespace witness::operad {

Allowance meet(const Allowance& a, const Allowance& b) {
  Allowance out;
  if (!a.capabilities) {
    out.capabilities = b.capabilities;
  } else if (!b.capabilities) {
    out.capabilities = a.capabilities;
  } else {
    out.capabilities.emplace();
    std::set_intersection(a.capabilities->begin(), a.capabilities->end(), b.capabilities->begin(),
                          b.capabilities->end(),
                          std::inserter(*out.capabilities, out.capabilities->end()));
  }
  out.budgets = a.budgets;
  for (const auto& [resource, limit] : b.budgets) {
    auto [it, inserted] = out.budgets.emplace(resource, limit);
    if (!inserted) it->second = std::min(it->second, limit);
  }
  return out;
}

std::string Allowance::to_string() const {
  std::string out = "{caps: ";
  if (!capabilities) {
    out += "*";
  } else {
    out += "[";
    bool first = true;
    for (const auto& c : *capabilities) {
      out += (first ? "" : ", ") + c;
      first = false;
    }
    out += "]";
  }
  out += ", budgets: {";
  bool first = true;
  for (const auto& [resource, limit] : budgets) {
    out += (first ? "" : ", ") + resource + ": " + std::to_string(limit);
    first = false;
  }
  return out + "}}";
}

}  // namespace witness::operad
