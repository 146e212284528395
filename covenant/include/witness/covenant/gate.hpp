// The gate (SPEC 5.3): decides whether a subject may perform an action on a resource at a cost,
// and holds budget for it. reserve / commit / release give zero overshoot: across all threads,
// the committed plus reserved cost of a covenant never exceeds its budget in any dimension, and
// a derived covenant's spending counts against every ancestor too.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/covenant/covenant.hpp"

namespace witness::covenant {

// A decision and why. Cheap to make (no allocation): names the deciding covenant and rule;
// Gate::explain renders it as text.
struct Decision {
  Reason reason = Reason::kNoCovenant;
  // The covenant that decided (empty: none). Points into the gate: valid while the gate lives.
  std::string_view covenant;
  RuleVerdict rule;                    // the deciding rule in that covenant's rights
  Budget remaining;                    // what is left after this request (allowed) or now (denied)
  std::optional<Dimension> exhausted;  // kOverBudget: the dimension short
  std::optional<std::chrono::nanoseconds> retry_after;  // kRateLimited: when a call fits
  // reserve(), when allowed: the hold to commit or release.
  std::optional<std::uint64_t> reservation;
  [[nodiscard]] bool allowed() const { return reason == Reason::kAllowed; }
};

// An amount of budget taken (a lease) or given back (a settlement) by one covenant.
struct Lease {
  std::string covenant;
  Cost amount;
  friend bool operator==(const Lease&, const Lease&) = default;
};

// A covenant's rate bucket at an instant: what a covenant.settle node records so that a restart
// resumes the bucket instead of refilling it.
struct BucketState {
  std::string covenant;
  double tokens = 0;
  Timestamp at;
  friend bool operator==(const BucketState&, const BucketState&) = default;
};

struct GateOptions {
  // The time used for expiry and rates; default: the system clock at the kernel tick resolution
  // (CLOCK_REALTIME_COARSE, a few ms), cheap enough to read on every decision.
  std::function<Timestamp()> clock;
  // Durable budget use (SPEC 5.3, "across a restart"). When set, the gate never lets a
  // covenant's committed plus reserved cost pass what it has leased: before a reservation
  // would, reserve() calls `lease` with the extra amounts and goes on only if it returns ok (it
  // must have made them durable, e.g. as a covenant.lease node). A restarted gate counts every
  // lease as spent (replay_lease) less what was given back (replay_settle), so a crash can only
  // make it more conservative. Called with the chain's locks held, from the reserving thread.
  // A covenant with a rate also gets a lease (of nothing) at its first reservation in a
  // session, so that a restart knows a session used its bucket and did not settle it.
  std::function<Status(const std::vector<Lease>& leases)> lease;
  // A lease covers at least 1/lease_fraction of the limit, so that few reservations need one.
  // A crash forfeits at most that much per covenant and dimension.
  std::uint64_t lease_fraction = 64;
};

// Holds covenants and their budget use. One covenant per subject is in force: granting a new
// covenant for a subject replaces the old one for that subject (the old one stays valid as a
// parent of others). check() takes no lock: it reads a published snapshot of the subjects and
// atomic counters, so it may see a reservation a moment late; reserve() decides under the
// chain's locks and is exact.
// Thread safety: all methods may be called concurrently.
class Gate {
 public:
  explicit Gate(GateOptions options = {});
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  Gate(Gate&&) noexcept;
  Gate& operator=(Gate&&) noexcept;
  ~Gate();

  // Adds `covenant` and puts it in force for its subject. Errors: kInvalidArgument for an empty
  // id or subject, an id already granted, or rights wider than the parent's (a derived
  // covenant's rights must equal meet(parent, rights)); kNotFound for an unknown parent;
  // kFailedPrecondition for a revoked parent.
  [[nodiscard]] Status grant(const Covenant& covenant);

  // Revokes the covenant `id` and every covenant derived from it, now and for good.
  // Errors: kNotFound.
  [[nodiscard]] Status revoke(std::string_view id);

  // Decides without holding anything: as reserve() would now.
  [[nodiscard]] Decision check(std::string_view subject, std::string_view action,
                               const Resource& resource, const Cost& cost) const;

  // Decides and, when allowed, holds `cost` against the covenant and its ancestors and takes a
  // call from their rate buckets; Decision::reservation names the hold. Errors: when the hold
  // needs a lease and GateOptions::lease fails, its error (nothing is held).
  [[nodiscard]] Result<Decision> reserve(std::string_view subject, std::string_view action,
                                         const Resource& resource, const Cost& cost);

  // Turns a hold into spending of `actual` (at most the reserved cost in every dimension; the
  // rest is returned). Errors: kNotFound for an unknown or finished reservation;
  // kInvalidArgument when `actual` exceeds the reservation (the hold stays).
  [[nodiscard]] Status commit(std::uint64_t reservation, const Cost& actual);
  // Returns a hold unspent. Errors: kNotFound.
  [[nodiscard]] Status release(std::uint64_t reservation);

  // Replays a recorded lease: `amount` counts as spent by covenant `id` (and as leased).
  // Errors: kNotFound.
  [[nodiscard]] Status replay_lease(std::string_view id, const Cost& amount);
  // Replays a recorded settlement: `amount` of a lease was given back unspent.
  // Errors: kNotFound.
  [[nodiscard]] Status replay_settle(std::string_view id, const Cost& amount);
  // Gives back what is leased beyond the committed and reserved cost of every covenant, and
  // returns those amounts (to record as a covenant.settle node before closing). Only with
  // GateOptions::lease; otherwise empty.
  [[nodiscard]] std::vector<Lease> settle();
  // The rate buckets this session used (only with GateOptions::lease), to record beside the
  // settlement; the session's use of them ends here.
  [[nodiscard]] std::vector<BucketState> settle_buckets();
  // Replays a recorded bucket: covenant `id`'s bucket held `tokens` at `at` (and refills from
  // there). Errors: kNotFound.
  [[nodiscard]] Status replay_bucket(const BucketState& bucket);
  // Ends a replay: a covenant whose session leased (used its bucket) and never settled, a
  // crash, starts with an empty bucket: a restart never grants more calls than the rate.
  void finish_replay();

  // The public key bound by the covenant in force for `subject`, if any. Allocates nothing.
  [[nodiscard]] std::optional<ledger::PublicKey> public_key_for(std::string_view subject) const;
  // A decision for a subject refused before any rule was looked at (kUnsigned, kBadSignature),
  // naming the covenant in force for it.
  [[nodiscard]] Decision refuse(std::string_view subject, Reason reason) const;

  // The covenant in force for `subject`, if any.
  [[nodiscard]] std::optional<Covenant> covenant_for(std::string_view subject) const;
  // Every granted covenant in grant order, with whether it is revoked (itself or through an
  // ancestor) and whether it is the one in force for its subject.
  struct Listing {
    Covenant covenant;
    bool revoked = false;
    bool in_force = false;
  };
  [[nodiscard]] std::vector<Listing> covenants() const;
  // Whether no covenant was ever granted (revoked ones count as granted). Takes no lock.
  [[nodiscard]] bool empty() const;
  // The covenant `id`. Errors: kNotFound.
  [[nodiscard]] Result<Covenant> covenant(std::string_view id) const;
  // Committed spending of covenant `id` (its own and its descendants'; after a restart with
  // leases, what was leased and not given back). Errors: kNotFound.
  [[nodiscard]] Result<Cost> spent(std::string_view id) const;

  // The decision as one line: "allowed by triage-v1: permit ledger.append kind=agent.*;
  // remaining calls=99" or "denied (over-budget: tokens) by triage-v1 ...".
  [[nodiscard]] std::string explain(const Decision& decision) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::covenant
