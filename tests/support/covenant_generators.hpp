// RapidCheck generators for covenant values over a small vocabulary of actions, kinds and
// tags, so that generated rules and requests overlap and decisions go both ways.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <rapidcheck.h>

#include "witness/covenant/covenant.hpp"
#include "witness/operad/laws.hpp"

namespace witness::testing {

inline rc::Gen<std::string> gen_action() {
  return rc::gen::element<std::string>("ledger.append", "tool.call", "tool.search", "model.query");
}

inline rc::Gen<std::string> gen_action_glob() {
  return rc::gen::element<std::string>("ledger.append", "tool.call", "tool.*", "*", "model.*");
}

inline rc::Gen<covenant::Resource> gen_resource() {
  return rc::gen::exec([] {
    covenant::Resource r;
    r.kind = *rc::gen::element<std::string>("agent.action", "agent.note", "detector.alert",
                                            "covenant.grant");
    r.walk = *rc::gen::element<std::string>("", "incident-1", "incident-2", "run-7");
    for (const char* tag : {"severity:high", "severity:low", "pii"}) {
      if (*rc::gen::arbitrary<bool>()) r.tags.emplace_back(tag);
    }
    return r;
  });
}

inline rc::Gen<covenant::ResourcePattern> gen_pattern() {
  return rc::gen::exec([] {
    covenant::ResourcePattern p;
    if (*rc::gen::arbitrary<bool>()) {
      p.kind = *rc::gen::element<std::string>("agent.*", "agent.action", "detector.alert", "*");
    }
    if (*operad::uniform_in_range(0, 4) == 0) {
      p.walk = *rc::gen::element<std::string>("incident-*", "run-7");
    }
    if (*operad::uniform_in_range(0, 4) == 0) {
      p.tags.push_back(*rc::gen::element<std::string>("severity:*", "pii"));
    }
    return p;
  });
}

inline rc::Gen<covenant::Rule> gen_rule() {
  return rc::gen::exec([] {
    covenant::Rule r;
    r.effect = *operad::uniform_in_range(0, 4) == 0 ? covenant::Effect::kForbid
                                                    : covenant::Effect::kPermit;
    r.action = *gen_action_glob();
    r.resource = *gen_pattern();
    return r;
  });
}

inline rc::Gen<covenant::Rights> gen_rights() {
  return rc::gen::exec([] {
    covenant::Rights r;
    const auto sets = *operad::uniform_in_range(0, 3);
    for (int s = 0; s < sets; ++s) {
      r.rule_sets.push_back(covenant::make_rule_set(
          *rc::gen::resize(5, rc::gen::container<std::vector<covenant::Rule>>(gen_rule()))));
    }
    for (auto d : covenant::kAllDimensions) {
      if (*operad::uniform_in_range(0, 3) == 0) {
        r.budget[d] = *rc::gen::inRange<std::uint64_t>(0, 1000);
      }
    }
    if (*operad::uniform_in_range(0, 4) == 0) {
      r.rate = covenant::Rate{*rc::gen::inRange<std::uint64_t>(0, 100),
                              *rc::gen::inRange<std::uint64_t>(0, 20)};
    }
    if (*operad::uniform_in_range(0, 3) == 0) {
      r.expires = covenant::Timestamp(std::chrono::seconds(*rc::gen::inRange(1000, 2000)));
    }
    return covenant::normalize(std::move(r));
  });
}

}  // namespace witness::testing
