// Permutations acting on operation inputs (operad_concepts.hpp).
#include <string>

#include "witness/operad/operad_concepts.hpp"

namespace witness::operad {

Status check_permutation(const Permutation& sigma, std::size_t n) {
  if (sigma.size() != n) {
    return invalid_argument("permutation of " + std::to_string(sigma.size()) +
                            " entries for arity " + std::to_string(n));
  }
  std::vector<bool> seen(n, false);
  for (std::size_t k = 0; k < n; ++k) {
    if (sigma[k] >= n) {
      return invalid_argument("permutation entry " + std::to_string(k) + " is " +
                              std::to_string(sigma[k]) + ", not below " + std::to_string(n));
    }
    if (seen[sigma[k]]) {
      return invalid_argument("permutation repeats " + std::to_string(sigma[k]));
    }
    seen[sigma[k]] = true;
  }
  return ok_status();
}

Permutation inverse(const Permutation& sigma) {
  Permutation inv(sigma.size());
  for (std::size_t k = 0; k < sigma.size(); ++k) inv[sigma[k]] = k;
  return inv;
}

Permutation block_permutation(const Permutation& sigma, std::size_t i, std::size_t m) {
  // (f . sigma) o_i g takes inputs u = (x_0..x_{i-1}, y_0..y_{m-1}, x_{i+1}..x_{n-1}) and feeds
  // f's input j (j != k) from x_sigma[j] and f's input k from g(y). F = f o_k g reads input q
  // as f's input q (q < k), y_{q-k} (k <= q < k+m), f's input q-m+1 (q >= k+m). sigma'[q] is
  // the position in u that feeds F's input q.
  const std::size_t n = sigma.size();
  const std::size_t k = inverse(sigma)[i];
  auto position_of_x = [&](std::size_t j) { return sigma[j] < i ? sigma[j] : sigma[j] + m - 1; };
  Permutation out(n + m - 1);
  for (std::size_t q = 0; q < out.size(); ++q) {
    if (q < k) {
      out[q] = position_of_x(q);
    } else if (q < k + m) {
      out[q] = i + (q - k);
    } else {
      out[q] = position_of_x(q - m + 1);
    }
  }
  return out;
}

}  // namespace witness::operad
