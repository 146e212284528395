#include "witness/covenant/gate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "witness/base/ascii.hpp"
#include "witness/base/string_map.hpp"

namespace witness::covenant {
namespace {

// Derivation chains are walked on every decision without allocating; deeper chains are refused
// at grant.
constexpr std::size_t kMaxDepth = 16;
// Reservations are kept in shards so that threads reserving at once rarely share a lock.
constexpr std::size_t kHeldShards = 16;

using Counters = std::array<std::atomic<std::uint64_t>, kDimensions>;

struct State;

// Root first, the covenant itself last.
struct Chain {
  std::array<State*, kMaxDepth> states{};
  std::size_t size = 0;
};

// A granted covenant and its budget use. States are never deleted while the gate lives (a
// revoked covenant keeps its state), so raw pointers and string_views into them stay valid.
// The counters are written only under `mu` (whole chains locked root first) and read without
// it by check().
struct State {
  Covenant covenant;
  State* parent = nullptr;
  std::vector<State*> children;  // guarded by Impl::mu
  Chain chain;                   // root .. this
  bool needs_clock = false;      // an expiry or a rate in the chain
  bool limited = false;          // some dimension has a limit
  std::atomic<bool> revoked{false};
  std::mutex mu;
  Counters used{};
  Counters reserved{};
  Cost leased;  // guarded by mu; kept only with GateOptions::lease
  std::atomic<double> tokens{0};
  std::atomic<std::int64_t> refilled{0};  // ns since the epoch
  // With GateOptions::lease: this session has recorded (by a lease) that it uses the bucket.
  std::atomic<bool> rate_recorded{false};
  bool rate_unsettled = false;  // replay: the last lease of a rated covenant was not settled
};

void add(std::atomic<std::uint64_t>& counter, std::uint64_t amount) {
  // Writers hold the state's lock, so a load and a store are enough; readers see either value.
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}
void sub(std::atomic<std::uint64_t>& counter, std::uint64_t amount) {
  const std::uint64_t v = counter.load(std::memory_order_relaxed);
  counter.store(v >= amount ? v - amount : 0, std::memory_order_relaxed);
}
std::uint64_t get(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

// Locks the chain's states root first; every caller locks in that order, so no deadlock.
class ChainLock {
 public:
  explicit ChainLock(const Chain& chain) : chain_(chain) {
    for (std::size_t k = 0; k < chain_.size; ++k) chain_.states[k]->mu.lock();
  }
  ChainLock(const ChainLock&) = delete;
  ChainLock& operator=(const ChainLock&) = delete;
  ChainLock(ChainLock&&) = delete;
  ChainLock& operator=(ChainLock&&) = delete;
  ~ChainLock() {
    for (std::size_t k = chain_.size; k-- > 0;) chain_.states[k]->mu.unlock();
  }

 private:
  const Chain& chain_;
};

std::uint64_t taken(const State& s, std::size_t d) { return get(s.used[d]) + get(s.reserved[d]); }

std::uint64_t available(const State& s, Dimension dim) {
  const auto d = static_cast<std::size_t>(dim);
  const std::uint64_t limit = *s.covenant.rights.budget[dim];
  const std::uint64_t t = taken(s, d);
  return limit > t ? limit - t : 0;
}

double tokens_at(const State& s, Timestamp now) {
  const auto& rate = *s.covenant.rights.rate;
  const double elapsed = static_cast<double>(now.time_since_epoch().count() -
                                             s.refilled.load(std::memory_order_relaxed)) *
                         1e-9;
  return std::min(static_cast<double>(rate.burst),
                  s.tokens.load(std::memory_order_relaxed) +
                      std::max(0.0, elapsed) * static_cast<double>(rate.per_second));
}

// The budget left along the chain after `cost`, the first shortfall, and the rate buckets.
// Reads the counters once; exact when the chain is locked.
// NOLINTNEXTLINE(readability-function-cognitive-complexity): one loop over dimensions and chain
void judge_budget(const Chain& chain, const Cost& cost, Timestamp t, Decision& d) {
  for (std::size_t k = 0; k < chain.size; ++k) {
    const State& s = *chain.states[k];
    if (!s.limited) continue;
    for (Dimension dim : kAllDimensions) {
      if (!s.covenant.rights.budget[dim]) continue;
      const std::uint64_t left = available(s, dim);
      const bool short_here = cost[dim] > left;
      const std::uint64_t after = short_here ? left : left - cost[dim];
      if (!d.remaining[dim] || *d.remaining[dim] > after) d.remaining[dim] = after;
      if (short_here && d.reason == Reason::kAllowed) {
        d.reason = Reason::kOverBudget;
        d.exhausted = dim;
        d.covenant = s.covenant.id;
      }
    }
  }
  if (d.reason != Reason::kAllowed) return;
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
      return;
    }
  }
}

// The budget left along the chain now, for a request refused before its cost was considered.
void report_left(const Chain& chain, Decision& d) {
  for (std::size_t k = 0; k < chain.size; ++k) {
    const State& s = *chain.states[k];
    if (!s.limited) continue;
    for (Dimension dim : kAllDimensions) {
      if (!s.covenant.rights.budget[dim]) continue;
      const std::uint64_t left = available(s, dim);
      if (!d.remaining[dim] || *d.remaining[dim] > left) d.remaining[dim] = left;
    }
  }
}

// What each limited state of the chain must lease so that its taken cost plus `cost` stays
// within its lease: at least 1/fraction of the limit at a time, never past the limit.
std::vector<Lease> leases_needed(const Chain& chain, const Cost& cost, std::uint64_t fraction) {
  std::vector<Lease> out;
  for (std::size_t k = 0; k < chain.size; ++k) {
    const State& s = *chain.states[k];
    const bool rate_unrecorded =
        s.covenant.rights.rate && !s.rate_recorded.load(std::memory_order_relaxed);
    if (!s.limited && !rate_unrecorded) continue;
    Lease lease;
    bool any = rate_unrecorded;  // a lease of nothing: this session uses the bucket
    for (Dimension dim : kAllDimensions) {
      const auto& limit = s.covenant.rights.budget[dim];
      const auto d = static_cast<std::size_t>(dim);
      if (!limit) continue;
      const std::uint64_t need = taken(s, d) + cost[dim];
      if (need <= s.leased[dim]) continue;
      const std::uint64_t chunk =
          std::max<std::uint64_t>(1, *limit / std::max<std::uint64_t>(1, fraction));
      const std::uint64_t room = *limit > s.leased[dim] ? *limit - s.leased[dim] : 0;
      lease.amount[dim] = std::min(room, std::max(need - s.leased[dim], chunk));
      any = true;
    }
    if (any) {
      lease.covenant = s.covenant.id;
      out.push_back(std::move(lease));
    }
  }
  return out;
}

struct Held {
  const Chain* chain = nullptr;
  Cost cost;
};

struct HeldShard {
  std::mutex mu;
  std::unordered_map<std::uint64_t, Held> held;
};

// The subjects in force: an open-addressing table (power-of-two capacity, linear probing, the
// hash kept beside each key) that readers search without a lock while one writer (holding
// Impl::mu) inserts. A slot's hash and key are written before its state pointer is published
// with a release store and never change after; re-granting a subject swaps only the pointer.
// Lookups are a hash, a mask and, almost always, one key comparison: std::unordered_map's prime
// modulo, node chase and shared lock were a third of a check.
class SubjectIndex {
 public:
  explicit SubjectIndex(std::size_t capacity) : slots_(capacity), mask_(capacity - 1) {}

  [[nodiscard]] State* find(std::string_view key) const {
    const std::uint64_t h = hash(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      State* state = s.state.load(std::memory_order_acquire);
      if (state == nullptr) return nullptr;
      if (s.hash == h && ascii_iequal(s.key, key)) return state;
    }
  }
  // Writer only. False when the table is too full to take a new key.
  bool put(std::string_view key, State* state) {
    const std::uint64_t h = hash(key);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.state.load(std::memory_order_relaxed) == nullptr) break;
      if (s.hash == h && ascii_iequal(s.key, key)) {
        s.state.store(state, std::memory_order_release);
        return true;
      }
    }
    if (2 * (size_ + 1) > slots_.size()) return false;
    slots_[i].hash = h;
    slots_[i].key = key;
    slots_[i].state.store(state, std::memory_order_release);
    ++size_;
    return true;
  }
  [[nodiscard]] std::size_t capacity() const { return slots_.size(); }

 private:
  // FNV-1a, 64-bit, over the ASCII-lower-cased key (subjects are compared without regard to
  // case), with a final mix so that the low bits used by the mask depend on every byte.
  static std::uint64_t hash(std::string_view key) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : key) {
      h = (h ^ static_cast<unsigned char>(ascii_lower(c))) * 1099511628211ULL;
    }
    return h ^ (h >> 32U);
  }
  struct Slot {
    std::uint64_t hash = 0;
    std::string_view key;  // points into a State's covenant, which lives as long as the gate
    std::atomic<State*> state{nullptr};
  };
  std::vector<Slot> slots_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

// The system clock at the kernel's tick resolution (a few ms): a fifth of the cost of the
// precise one, and precise enough for expiry instants and token-bucket refills, whose long-run
// rate stays exact.
Timestamp coarse_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return Timestamp(
      std::chrono::nanoseconds(static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec));
}

}  // namespace

struct Gate::Impl {
  GateOptions options;
  mutable std::mutex mu;  // serialises grants and revocations; guards by_id and the tree
  StringMap<std::unique_ptr<State>> by_id;
  std::vector<State*> in_grant_order;
  std::atomic<bool> any_granted{false};  // in_grant_order is not empty (read without mu)
  // The subjects in force (guarded by mu), published as an index read without a lock. Old
  // indexes are kept until the gate dies: a reader may still hold one, and grants are rare.
  // Keyed by the ASCII-lower-cased subject: "Alert.Triage" and "alert.triage" are one agent.
  std::unordered_map<std::string, State*> by_subject;
  std::atomic<const SubjectIndex*> subjects{nullptr};
  std::vector<std::unique_ptr<SubjectIndex>> indexes;
  std::array<HeldShard, kHeldShards> held;
  std::atomic<std::uint64_t> next_reservation{1};

  [[nodiscard]] Timestamp now() const { return options.clock ? options.clock() : coarse_now(); }

  State* find(std::string_view id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second.get();
  }

  State* in_force(std::string_view subject) const {
    const SubjectIndex* index = subjects.load(std::memory_order_acquire);
    return index == nullptr ? nullptr : index->find(subject);
  }

  HeldShard& shard(std::uint64_t reservation) { return held[reservation % kHeldShards]; }

  // Errors (only with `hold`): the lease callback's error; nothing is held then.
  Result<Decision> decide(std::string_view subject, std::string_view action,
                          const Resource& resource, const Cost& cost, bool hold);
  // Removes reservation `reservation` and returns it; with `actual`, only if it fits the hold.
  Result<Held> take(std::uint64_t reservation, const Cost* actual);
};

// The decision in SPEC 5.3's order (revocation, expiry, forbid, permit, rate, budget, hold),
// read top to bottom; each step returns as soon as it denies.
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
Result<Decision> Gate::Impl::decide(std::string_view subject, std::string_view action,
                                    const Resource& resource, const Cost& cost, bool hold) {
  Decision d;
  State* leaf = in_force(subject);
  if (leaf == nullptr) return d;  // kNoCovenant: deny by default
  const Rights& rights = leaf->covenant.rights;
  const Chain& chain = leaf->chain;
  d.covenant = leaf->covenant.id;
  for (std::size_t k = 0; k < chain.size; ++k) {
    if (chain.states[k]->revoked.load(std::memory_order_acquire)) {
      d.reason = Reason::kRevoked;
      d.covenant = chain.states[k]->covenant.id;
      return d;
    }
  }
  const Timestamp t = leaf->needs_clock ? now() : Timestamp{};
  // A covenant's expiry is at most its ancestors' (grant checks it is their meet).
  if (rights.expires && t >= *rights.expires) {
    d.reason = Reason::kExpired;
    return d;
  }
  d.rule = judge_rules(rights, action, resource);
  if (d.rule.reason != Reason::kAllowed) {
    d.reason = d.rule.reason;
    report_left(chain, d);
    return d;
  }
  d.reason = Reason::kAllowed;
  if (!hold) {
    judge_budget(chain, cost, t, d);
    return d;
  }

  ChainLock locked(chain);
  judge_budget(chain, cost, t, d);
  if (!d.allowed()) return d;
  if (options.lease) {
    std::vector<Lease> leases = leases_needed(chain, cost, options.lease_fraction);
    if (!leases.empty()) {
      WITNESS_RETURN_IF_ERROR(options.lease(leases));
      for (const Lease& lease : leases) {
        State* s = nullptr;
        for (std::size_t k = 0; k < chain.size; ++k) {
          if (chain.states[k]->covenant.id == lease.covenant) s = chain.states[k];
        }
        WITNESS_CHECK(s != nullptr);  // leases_needed leases only covenants of the chain
        for (Dimension dim : kAllDimensions) s->leased[dim] += lease.amount[dim];
        if (s->covenant.rights.rate) s->rate_recorded.store(true, std::memory_order_relaxed);
      }
    }
  }
  for (std::size_t k = 0; k < chain.size; ++k) {
    State& s = *chain.states[k];
    for (std::size_t dim = 0; dim < kDimensions; ++dim) add(s.reserved[dim], cost.amount[dim]);
    if (s.covenant.rights.rate) {
      s.tokens.store(tokens_at(s, t) - 1.0, std::memory_order_relaxed);
      s.refilled.store(t.time_since_epoch().count(), std::memory_order_relaxed);
    }
  }
  const std::uint64_t id = next_reservation.fetch_add(1, std::memory_order_relaxed);
  d.reservation = id;
  HeldShard& sh = shard(id);
  std::lock_guard held_lock(sh.mu);
  sh.held.emplace(id, Held{&chain, cost});
  return d;
}

Result<Held> Gate::Impl::take(std::uint64_t reservation, const Cost* actual) {
  HeldShard& sh = shard(reservation);
  std::lock_guard lock(sh.mu);
  auto it = sh.held.find(reservation);
  if (it == sh.held.end()) {
    return not_found((actual != nullptr ? "commit: " : "release: ") +
                     std::string("no open reservation ") + std::to_string(reservation));
  }
  if (actual != nullptr) {
    for (Dimension d : kAllDimensions) {
      if ((*actual)[d] > it->second.cost[d]) {
        return invalid_argument("commit " + std::to_string(reservation) + ": " +
                                std::string(dimension_name(d)) + " " +
                                std::to_string((*actual)[d]) + " exceeds the " +
                                std::to_string(it->second.cost[d]) + " reserved");
      }
    }
  }
  Held h = it->second;
  sh.held.erase(it);
  return h;
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
  const Rights& rights = state->covenant.rights;
  std::lock_guard lock(impl_->mu);
  if (impl_->find(covenant.id) != nullptr) {
    return invalid_argument("grant " + covenant.id + ": covenant id already granted");
  }
  State* parent = nullptr;
  if (covenant.parent) {
    parent = impl_->find(*covenant.parent);
    if (parent == nullptr) {
      return not_found("grant " + covenant.id + ": parent " + *covenant.parent + " not granted");
    }
    if (parent->revoked.load()) {
      return failed_precondition("grant " + covenant.id + ": parent " + *covenant.parent +
                                 " is revoked");
    }
    if (!(meet(parent->covenant.rights, rights) == rights)) {
      return invalid_argument("grant " + covenant.id + ": rights wider than its parent " +
                              *covenant.parent + " (derive() meets them)");
    }
    if (parent->chain.size >= kMaxDepth) {
      return invalid_argument("grant " + covenant.id + ": derivation deeper than " +
                              std::to_string(kMaxDepth));
    }
  }
  State* raw = state.get();
  raw->parent = parent;
  if (parent != nullptr) {
    raw->chain = parent->chain;
    raw->needs_clock = parent->needs_clock;
  }
  raw->chain.states[raw->chain.size++] = raw;
  raw->needs_clock = raw->needs_clock || rights.rate.has_value() || rights.expires.has_value();
  raw->limited = std::any_of(rights.budget.limit.begin(), rights.budget.limit.end(),
                             [](const auto& l) { return l.has_value(); });
  if (rights.rate) {
    raw->tokens.store(static_cast<double>(rights.rate->burst));
    raw->refilled.store(impl_->now().time_since_epoch().count());
  }
  if (parent != nullptr) parent->children.push_back(raw);
  impl_->by_id.emplace(covenant.id, std::move(state));
  impl_->in_grant_order.push_back(raw);
  impl_->any_granted.store(true, std::memory_order_release);

  impl_->by_subject.insert_or_assign(ascii_lowered(raw->covenant.subject), raw);
  SubjectIndex* index = impl_->indexes.empty() ? nullptr : impl_->indexes.back().get();
  if (index == nullptr || !index->put(raw->covenant.subject, raw)) {
    // Full: publish a table twice the size. The old one stays for readers that hold it; the
    // sizes double, so all of them together take at most twice the last.
    auto next = std::make_unique<SubjectIndex>(index == nullptr ? 16 : 2 * index->capacity());
    for (const auto& [folded_subject, holder] : impl_->by_subject) {
      (void)next->put(holder->covenant.subject, holder);
    }
    impl_->subjects.store(next.get(), std::memory_order_release);
    impl_->indexes.push_back(std::move(next));
  }
  return ok_status();
}

Status Gate::revoke(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  State* root = impl_->find(id);
  if (root == nullptr) return not_found("revoke: no covenant " + std::string(id));
  std::vector<State*> stack{root};
  while (!stack.empty()) {
    State* s = stack.back();
    stack.pop_back();
    s->revoked.store(true, std::memory_order_release);
    stack.insert(stack.end(), s->children.begin(), s->children.end());
  }
  return ok_status();
}

Decision Gate::check(std::string_view subject, std::string_view action, const Resource& resource,
                     const Cost& cost) const {
  auto d = impl_->decide(subject, action, resource, cost, false);
  WITNESS_CHECK(d.has_value());  // only a hold can fail (its lease)
  return *std::move(d);
}

Result<Decision> Gate::reserve(std::string_view subject, std::string_view action,
                               const Resource& resource, const Cost& cost) {
  return impl_->decide(subject, action, resource, cost, true);
}

Status Gate::commit(std::uint64_t reservation, const Cost& actual) {
  WITNESS_ASSIGN_OR_RETURN(const Held h, impl_->take(reservation, &actual));
  ChainLock locked(*h.chain);
  for (std::size_t k = 0; k < h.chain->size; ++k) {
    State& s = *h.chain->states[k];
    for (std::size_t d = 0; d < kDimensions; ++d) {
      sub(s.reserved[d], h.cost.amount[d]);
      add(s.used[d], actual.amount[d]);
    }
  }
  return ok_status();
}

Status Gate::release(std::uint64_t reservation) {
  WITNESS_ASSIGN_OR_RETURN(const Held h, impl_->take(reservation, nullptr));
  ChainLock locked(*h.chain);
  for (std::size_t k = 0; k < h.chain->size; ++k) {
    for (std::size_t d = 0; d < kDimensions; ++d) {
      sub(h.chain->states[k]->reserved[d], h.cost.amount[d]);
    }
  }
  return ok_status();
}

Status Gate::replay_lease(std::string_view id, const Cost& amount) {
  std::lock_guard lock(impl_->mu);
  State* s = impl_->find(id);
  if (s == nullptr) return not_found("lease: no covenant " + std::string(id));
  std::lock_guard state_lock(s->mu);
  for (Dimension dim : kAllDimensions) {
    add(s->used[static_cast<std::size_t>(dim)], amount[dim]);
    s->leased[dim] += amount[dim];
  }
  if (s->covenant.rights.rate) s->rate_unsettled = true;
  return ok_status();
}

Status Gate::replay_bucket(const BucketState& bucket) {
  std::lock_guard lock(impl_->mu);
  State* s = impl_->find(bucket.covenant);
  if (s == nullptr) return not_found("bucket: no covenant " + bucket.covenant);
  if (!s->covenant.rights.rate) return ok_status();  // a rate since dropped: nothing to resume
  std::lock_guard state_lock(s->mu);
  const auto burst = static_cast<double>(s->covenant.rights.rate->burst);
  s->tokens.store(std::clamp(bucket.tokens, 0.0, burst), std::memory_order_relaxed);
  s->refilled.store(bucket.at.time_since_epoch().count(), std::memory_order_relaxed);
  s->rate_unsettled = false;
  return ok_status();
}

void Gate::finish_replay() {
  std::lock_guard lock(impl_->mu);
  const std::int64_t now = impl_->now().time_since_epoch().count();
  for (State* s : impl_->in_grant_order) {
    std::lock_guard state_lock(s->mu);
    if (!s->rate_unsettled) continue;
    s->tokens.store(0.0, std::memory_order_relaxed);
    s->refilled.store(now, std::memory_order_relaxed);
    s->rate_unsettled = false;
    // This session settles the crashed one's bucket at its close (until then, the unsettled
    // lease stands, and another crash empties the bucket again).
    s->rate_recorded.store(true, std::memory_order_relaxed);
  }
}

std::vector<BucketState> Gate::settle_buckets() {
  std::vector<BucketState> out;
  if (!impl_->options.lease) return out;
  std::lock_guard lock(impl_->mu);
  const Timestamp now = impl_->now();
  for (State* s : impl_->in_grant_order) {
    if (!s->rate_recorded.exchange(false, std::memory_order_relaxed)) continue;
    std::lock_guard state_lock(s->mu);
    out.push_back({s->covenant.id, tokens_at(*s, now), now});
  }
  return out;
}

Status Gate::replay_settle(std::string_view id, const Cost& amount) {
  std::lock_guard lock(impl_->mu);
  State* s = impl_->find(id);
  if (s == nullptr) return not_found("settle: no covenant " + std::string(id));
  std::lock_guard state_lock(s->mu);
  for (Dimension dim : kAllDimensions) {
    sub(s->used[static_cast<std::size_t>(dim)], amount[dim]);
    s->leased[dim] -= std::min(s->leased[dim], amount[dim]);
  }
  return ok_status();
}

std::vector<Lease> Gate::settle() {
  std::vector<Lease> out;
  if (!impl_->options.lease) return out;
  std::lock_guard lock(impl_->mu);
  for (State* s : impl_->in_grant_order) {
    std::lock_guard state_lock(s->mu);
    Lease back;
    bool any = false;
    for (Dimension dim : kAllDimensions) {
      const std::uint64_t t = taken(*s, static_cast<std::size_t>(dim));
      if (s->leased[dim] > t) {
        back.amount[dim] = s->leased[dim] - t;
        s->leased[dim] = t;
        any = true;
      }
    }
    if (any) {
      back.covenant = s->covenant.id;
      out.push_back(std::move(back));
    }
  }
  return out;
}

std::optional<ledger::PublicKey> Gate::public_key_for(std::string_view subject) const {
  const State* s = impl_->in_force(subject);
  if (s == nullptr) return std::nullopt;
  return s->covenant.public_key;
}

Decision Gate::refuse(std::string_view subject, Reason reason) const {
  Decision d;
  const State* s = impl_->in_force(subject);
  if (s == nullptr) return d;
  d.reason = reason;
  d.covenant = s->covenant.id;
  return d;
}

std::optional<Covenant> Gate::covenant_for(std::string_view subject) const {
  const State* s = impl_->in_force(subject);
  if (s == nullptr) return std::nullopt;
  return s->covenant;
}

bool Gate::empty() const { return !impl_->any_granted.load(std::memory_order_acquire); }

std::vector<Gate::Listing> Gate::covenants() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Listing> out;
  for (const State* s : impl_->in_grant_order) {
    out.push_back({s->covenant, s->revoked.load(), impl_->in_force(s->covenant.subject) == s});
  }
  return out;
}

Result<Covenant> Gate::covenant(std::string_view id) const {
  std::lock_guard lock(impl_->mu);
  const State* s = impl_->find(id);
  if (s == nullptr) return not_found("no covenant " + std::string(id));
  return s->covenant;
}

Result<Cost> Gate::spent(std::string_view id) const {
  std::lock_guard lock(impl_->mu);
  State* s = impl_->find(id);
  if (s == nullptr) return not_found("no covenant " + std::string(id));
  std::lock_guard state_lock(s->mu);
  Cost out;
  for (std::size_t d = 0; d < kDimensions; ++d) out.amount[d] = get(s->used[d]);
  return out;
}

std::string Gate::explain(const Decision& d) const {
  std::string out = d.allowed() ? "allowed" : "denied (" + std::string(reason_name(d.reason));
  if (d.exhausted) out += ": " + std::string(dimension_name(*d.exhausted));
  if (!d.allowed()) out += ")";
  if (d.covenant.empty()) return out + ": the subject holds no covenant (deny by default)";
  out += " by " + std::string(d.covenant);
  auto c = covenant(d.covenant);
  switch (d.reason) {
    case Reason::kAllowed:
    case Reason::kForbidden:
    case Reason::kNotPermitted:
      if (c) out += ": " + describe(c->rights, d.rule);
      break;
    case Reason::kExpired:
      if (c && c->rights.expires) {
        out += ": expired at " + ledger::format_rfc3339(*c->rights.expires);
      }
      break;
    case Reason::kUnsigned:
      out += c && !c->public_key
                 ? ": this writer takes only nodes signed by the key the origin's covenant binds, "
                   "and the covenant binds none"
                 : ": the covenant binds a public key and the node is not signed";
      break;
    case Reason::kBadSignature:
      out += ": the node's signature does not verify with the covenant's public key";
      break;
    case Reason::kBadUsage:
      out += ": the node's usage is not a cost the gate can count";
      break;
    default:
      break;
  }
  // A refusal for the node itself (its signature or its usage) judged no budget: saying what
  // remains would read as a verdict on it.
  const bool judged_budget = d.reason != Reason::kUnsigned && d.reason != Reason::kBadSignature &&
                             d.reason != Reason::kBadUsage;
  if (judged_budget) out += "; remaining " + d.remaining.to_string();
  if (d.retry_after) {
    out += "; retry in " + std::to_string(std::chrono::duration<double>(*d.retry_after).count()) +
           " s";
  }
  return out;
}

}  // namespace witness::covenant
