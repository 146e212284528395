#include "witness/covenant/gate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

namespace witness::covenant {
namespace {

// Derivation chains are walked on every decision without allocating; deeper chains are refused
// at grant.
constexpr std::size_t kMaxDepth = 16;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A granted covenant and its budget use. States are never deleted while the gate lives (a
// revoked covenant keeps its state), so raw pointers to them stay valid.
struct State {
  Covenant covenant;
  State* parent = nullptr;
  std::vector<State*> children;  // guarded by Impl::mu
  std::atomic<bool> revoked{false};
  std::size_t depth = 0;  // 0 for a root
  std::mutex mu;          // guards used, reserved and the rate bucket
  Cost used;
  Cost reserved;
  double tokens = 0;
  Timestamp refilled{};
};

// Root first, the covenant itself last.
struct Chain {
  std::array<State*, kMaxDepth> states{};
  std::size_t size = 0;
  [[nodiscard]] State* leaf() const { return states[size - 1]; }
};

Chain chain_of(State* leaf) {
  Chain c;
  c.size = leaf->depth + 1;
  State* s = leaf;
  for (std::size_t k = c.size; k-- > 0;) {
    c.states[k] = s;
    s = s->parent;
  }
  return c;
}

// Locks the chain's states root first; every caller locks in that order, so no deadlock.
class ChainLock {
 public:
  explicit ChainLock(const Chain& chain) : chain_(chain) {
    for (std::size_t k = 0; k < chain_.size; ++k) chain_.states[k]->mu.lock();
  }
  ChainLock(const ChainLock&) = delete;
  ChainLock& operator=(const ChainLock&) = delete;
  ~ChainLock() {
    for (std::size_t k = chain_.size; k-- > 0;) chain_.states[k]->mu.unlock();
  }

 private:
  const Chain& chain_;
};

std::uint64_t available(const State& s, Dimension d) {
  const auto& limit = s.covenant.rights.budget[d];
  const std::uint64_t taken = s.used[d] + s.reserved[d];
  return *limit > taken ? *limit - taken : 0;
}

double tokens_at(const State& s, Timestamp now) {
  const auto& rate = *s.covenant.rights.rate;
  const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
  return std::min(static_cast<double>(rate.burst),
                  s.tokens + std::max(0.0, elapsed) * static_cast<double>(rate.per_second));
}

struct Held {
  Chain chain;
  Cost cost;
};

}  // namespace

struct Gate::Impl {
  GateOptions options;
  mutable std::shared_mutex mu;  // guards the maps and the derivation tree
  std::unordered_map<std::string, std::unique_ptr<State>, StringHash, std::equal_to<>> by_id;
  std::unordered_map<std::string, State*, StringHash, std::equal_to<>> by_subject;
  std::vector<State*> in_grant_order;
  std::mutex held_mu;
  std::unordered_map<std::uint64_t, Held> held;
  std::atomic<std::uint64_t> next_reservation{1};

  [[nodiscard]] Timestamp now() const {
    return options.clock ? options.clock()
                         : std::chrono::time_point_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now());
  }

  State* find(std::string_view id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second.get();
  }

  Decision decide(std::string_view subject, std::string_view action, const Resource& resource,
                  const Cost& cost, bool hold);
};

Decision Gate::Impl::decide(std::string_view subject, std::string_view action,
                            const Resource& resource, const Cost& cost, bool hold) {
  Decision d;
  std::shared_lock lock(mu);
  auto it = by_subject.find(subject);
  if (it == by_subject.end()) return d;  // kNoCovenant: deny by default
  State* leaf = it->second;
  const Rights& rights = leaf->covenant.rights;
  d.covenant = leaf->covenant.id;
  const Chain chain = chain_of(leaf);
  for (std::size_t k = 0; k < chain.size; ++k) {
    if (chain.states[k]->revoked.load(std::memory_order_acquire)) {
      d.reason = Reason::kRevoked;
      d.covenant = chain.states[k]->covenant.id;
      return d;
    }
  }
  const Timestamp t = now();
  // A covenant's expiry is at most its ancestors' (grant checks it is their meet).
  if (rights.expires && t >= *rights.expires) {
    d.reason = Reason::kExpired;
    return d;
  }
  d.rule = judge_rules(rights, action, resource);
  if (d.rule.reason != Reason::kAllowed) {
    d.reason = d.rule.reason;
    return d;
  }

  ChainLock locked(chain);
  for (std::size_t k = 0; k < chain.size; ++k) {
    const State& s = *chain.states[k];
    for (Dimension dim : kAllDimensions) {
      if (!s.covenant.rights.budget[dim]) continue;
      const std::uint64_t left = available(s, dim);
      const std::uint64_t after = left >= cost[dim] ? left - cost[dim] : 0;
      if (!d.remaining[dim] || *d.remaining[dim] > after) d.remaining[dim] = after;
      if (cost[dim] > left) {
        d.reason = Reason::kOverBudget;
        d.exhausted = dim;
        d.covenant = s.covenant.id;
        d.remaining[dim] = left;
        return d;
      }
    }
  }
  for (std::size_t k = 0; k < chain.size; ++k) {
    const State& s = *chain.states[k];
    if (!s.covenant.rights.rate) continue;
    const double tokens = tokens_at(s, t);
    if (tokens < 1.0) {
      const auto per_second = static_cast<double>(s.covenant.rights.rate->per_second);
      d.reason = Reason::kRateLimited;
      d.covenant = s.covenant.id;
      d.retry_after = per_second > 0
                          ? std::optional(std::chrono::nanoseconds(
                                static_cast<std::int64_t>((1.0 - tokens) / per_second * 1e9 + 1)))
                          : std::nullopt;  // a zero rate never refills
      return d;
    }
  }
  d.reason = Reason::kAllowed;
  if (!hold) return d;
  for (std::size_t k = 0; k < chain.size; ++k) {
    State& s = *chain.states[k];
    for (Dimension dim : kAllDimensions) s.reserved[dim] += cost[dim];
    if (s.covenant.rights.rate) {
      s.tokens = tokens_at(s, t) - 1.0;
      s.refilled = t;
    }
  }
  d.reservation = next_reservation.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard held_lock(held_mu);
  held.emplace(d.reservation, Held{chain, cost});
  return d;
}

Gate::Gate(GateOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
Gate::Gate(Gate&&) noexcept = default;
Gate& Gate::operator=(Gate&&) noexcept = default;
Gate::~Gate() = default;

Status Gate::grant(const Covenant& covenant) {
  if (covenant.id.empty()) return invalid_argument("grant: empty covenant id");
  if (covenant.subject.empty()) return invalid_argument("grant " + covenant.id + ": empty subject");
  auto state = std::make_unique<State>();
  state->covenant = covenant;
  state->covenant.rights = normalize(covenant.rights);
  std::unique_lock lock(impl_->mu);
  if (impl_->find(covenant.id) != nullptr) {
    return invalid_argument("grant " + covenant.id + ": covenant id already granted");
  }
  if (covenant.parent) {
    State* parent = impl_->find(*covenant.parent);
    if (parent == nullptr) {
      return not_found("grant " + covenant.id + ": parent " + *covenant.parent + " not granted");
    }
    if (parent->revoked.load()) {
      return failed_precondition("grant " + covenant.id + ": parent " + *covenant.parent +
                                 " is revoked");
    }
    if (!(meet(parent->covenant.rights, state->covenant.rights) == state->covenant.rights)) {
      return invalid_argument("grant " + covenant.id + ": rights wider than its parent " +
                              *covenant.parent + " (derive() meets them)");
    }
    if (parent->depth + 1 >= kMaxDepth) {
      return invalid_argument("grant " + covenant.id + ": derivation deeper than " +
                              std::to_string(kMaxDepth));
    }
    state->parent = parent;
    state->depth = parent->depth + 1;
    parent->children.push_back(state.get());
  }
  if (state->covenant.rights.rate) {
    state->tokens = static_cast<double>(state->covenant.rights.rate->burst);
    state->refilled = impl_->now();
  }
  State* raw = state.get();
  impl_->by_id.emplace(covenant.id, std::move(state));
  impl_->in_grant_order.push_back(raw);
  impl_->by_subject.insert_or_assign(covenant.subject, raw);
  return Status::ok();
}

Status Gate::revoke(std::string_view id) {
  std::unique_lock lock(impl_->mu);
  State* root = impl_->find(id);
  if (root == nullptr) return not_found("revoke: no covenant " + std::string(id));
  std::vector<State*> stack{root};
  while (!stack.empty()) {
    State* s = stack.back();
    stack.pop_back();
    s->revoked.store(true, std::memory_order_release);
    stack.insert(stack.end(), s->children.begin(), s->children.end());
  }
  return Status::ok();
}

Decision Gate::check(std::string_view subject, std::string_view action, const Resource& resource,
                     const Cost& cost) const {
  return impl_->decide(subject, action, resource, cost, false);
}

Decision Gate::reserve(std::string_view subject, std::string_view action, const Resource& resource,
                       const Cost& cost) {
  return impl_->decide(subject, action, resource, cost, true);
}

Status Gate::commit(std::uint64_t reservation, const Cost& actual) {
  Held h;
  {
    std::lock_guard lock(impl_->held_mu);
    auto it = impl_->held.find(reservation);
    if (it == impl_->held.end()) {
      return not_found("commit: no open reservation " + std::to_string(reservation));
    }
    for (Dimension d : kAllDimensions) {
      if (actual[d] > it->second.cost[d]) {
        return invalid_argument("commit " + std::to_string(reservation) + ": " +
                                std::string(dimension_name(d)) + " " + std::to_string(actual[d]) +
                                " exceeds the " + std::to_string(it->second.cost[d]) + " reserved");
      }
    }
    h = it->second;
    impl_->held.erase(it);
  }
  ChainLock locked(h.chain);
  for (std::size_t k = 0; k < h.chain.size; ++k) {
    State& s = *h.chain.states[k];
    for (Dimension d : kAllDimensions) {
      s.reserved[d] -= h.cost[d];
      s.used[d] += actual[d];
    }
  }
  return Status::ok();
}

Status Gate::release(std::uint64_t reservation) {
  Held h;
  {
    std::lock_guard lock(impl_->held_mu);
    auto it = impl_->held.find(reservation);
    if (it == impl_->held.end()) {
      return not_found("release: no open reservation " + std::to_string(reservation));
    }
    h = it->second;
    impl_->held.erase(it);
  }
  ChainLock locked(h.chain);
  for (std::size_t k = 0; k < h.chain.size; ++k) {
    for (Dimension d : kAllDimensions) h.chain.states[k]->reserved[d] -= h.cost[d];
  }
  return Status::ok();
}

std::optional<Covenant> Gate::covenant_for(std::string_view subject) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->by_subject.find(subject);
  if (it == impl_->by_subject.end()) return std::nullopt;
  return it->second->covenant;
}

std::vector<Gate::Listing> Gate::covenants() const {
  std::shared_lock lock(impl_->mu);
  std::vector<Listing> out;
  for (const State* s : impl_->in_grant_order) {
    auto it = impl_->by_subject.find(s->covenant.subject);
    out.push_back(
        {s->covenant, s->revoked.load(), it != impl_->by_subject.end() && it->second == s});
  }
  return out;
}

Result<Covenant> Gate::covenant(std::string_view id) const {
  std::shared_lock lock(impl_->mu);
  const State* s = impl_->find(id);
  if (s == nullptr) return not_found("no covenant " + std::string(id));
  return s->covenant;
}

Result<Cost> Gate::spent(std::string_view id) const {
  std::shared_lock lock(impl_->mu);
  State* s = impl_->find(id);
  if (s == nullptr) return not_found("no covenant " + std::string(id));
  std::lock_guard state_lock(s->mu);
  return s->used;
}

std::string Gate::explain(const Decision& d) const {
  std::string out = d.allowed() ? "allowed" : "denied (" + std::string(reason_name(d.reason));
  if (d.exhausted) out += ": " + std::string(dimension_name(*d.exhausted));
  if (!d.allowed()) out += ")";
  if (d.covenant.empty()) return out + ": the subject holds no covenant (deny by default)";
  out += " by " + d.covenant;
  auto c = covenant(d.covenant);
  if (c && (d.reason == Reason::kAllowed || d.reason == Reason::kForbidden ||
            d.reason == Reason::kNotPermitted)) {
    out += ": " + describe(c->rights, d.rule);
  }
  if (d.reason == Reason::kExpired && c && c->rights.expires) {
    out += ": expired at " + ledger::format_rfc3339(*c->rights.expires);
  }
  out += "; remaining " + d.remaining.to_string();
  if (d.retry_after) {
    out += "; retry in " + std::to_string(std::chrono::duration<double>(*d.retry_after).count()) +
           " s";
  }
  return out;
}

}  // namespace witness::covenant
