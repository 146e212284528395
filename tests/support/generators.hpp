// RapidCheck generators for ledger values: node drafts with realistic, collision-prone fields
// (a few origins, kinds, walks and tags) so that queries and conjunctions have real matches.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <rapidcheck.h>

#include "witness/ledger/trace_node.hpp"

namespace witness::testing {

// An optional value: empty about a third of the time. (Debian's RapidCheck gives rc::Maybe.)
template <typename T>
rc::Gen<std::optional<T>> gen_optional(rc::Gen<T> gen) {
  auto present = rc::gen::map(std::move(gen), [](T v) { return std::optional<T>(std::move(v)); });
  return rc::gen::oneOf(rc::gen::just(std::optional<T>()), present, present);
}

// Returns `items` in a generated order. Call inside a property (it draws with operator*).
template <typename T>
std::vector<T> shuffled(std::vector<T> items) {
  const auto keys = *rc::gen::container<std::vector<std::uint32_t>>(
      items.size(), rc::gen::arbitrary<std::uint32_t>());
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  std::vector<T> out;
  out.reserve(items.size());
  for (const auto i : order) out.push_back(std::move(items[i]));
  return out;
}

inline rc::Gen<std::string> gen_json_string() {
  return rc::gen::oneOf(
      rc::gen::element<std::string>("", "a", "ä", "\xf0\x9f\x98\x80", "line\nbreak", "q\"uote",
                                    "back\\slash", "\x01\x1f", "\xee\x80\x80", "Zz"),
      rc::gen::container<std::string>(rc::gen::inRange<char>(0x20, 0x7f)));
}

// A JSON value as text, up to `depth` levels of nesting, with arbitrary key order and spacing.
inline rc::Gen<std::string> gen_json_text(int depth) {
  auto scalar = rc::gen::oneOf(
      rc::gen::element<std::string>("null", "true", "false", "0", "-0", "1.5e3", "1E-7",
                                    "123456789012345678", "-3.25", "1e21", "0.1"),
      rc::gen::map(rc::gen::arbitrary<int>(), [](int v) { return std::to_string(v); }),
      rc::gen::map(gen_json_string(), [](const std::string& s) {
        std::string out = "\"";
        for (const char c : s) {
          const auto u = static_cast<unsigned char>(c);
          if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
          } else if (u < 0x20) {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out += "\\u00";
            out += kHex[u >> 4U];
            out += kHex[u & 0xFU];
          } else {
            out += c;
          }
        }
        return out + "\"";
      }));
  if (depth <= 0) return scalar;
  auto array = rc::gen::map(rc::gen::container<std::vector<std::string>>(gen_json_text(depth - 1)),
                            [](const std::vector<std::string>& items) {
                              std::string out = "[";
                              for (std::size_t i = 0; i < items.size(); ++i) {
                                out += (i ? " , " : " ") + items[i];
                              }
                              return out + "]";
                            });
  auto object = rc::gen::map(rc::gen::container<std::map<std::string, std::string>>(
                                 rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'f')),
                                 gen_json_text(depth - 1)),
                             [](const std::map<std::string, std::string>& members) {
                               std::string out = "{";
                               bool first = true;
                               // Reverse order: the canonical form must sort them back.
                               for (auto it = members.rbegin(); it != members.rend(); ++it) {
                                 out += (first ? "" : ",\n ") + std::string("\"") + it->first +
                                        "\": " + it->second;
                                 first = false;
                               }
                               return out + "}";
                             });
  return rc::gen::oneOf(scalar, array, object);
}

// A JSON object as text.
inline rc::Gen<std::string> gen_payload() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
          rc::gen::pair(rc::gen::element<std::string>("action", "score", "target", "reason", "n"),
                        gen_json_text(1))),
      [](const std::vector<std::pair<std::string, std::string>>& items) {
        std::map<std::string, std::string> members(items.begin(), items.end());  // unique keys
        std::string out = "{";
        bool first = true;
        for (const auto& [k, v] : members) {
          out += (first ? "\"" : ",\"") + k + "\":" + v;
          first = false;
        }
        return out + "}";
      });
}

// A valid draft without links (links need targets that exist; tests add them).
inline rc::Gen<ledger::NodeDraft> gen_draft() {
  return rc::gen::apply(
      [](std::string origin, std::string kind, std::int64_t ts, std::optional<std::string> walk,
         std::vector<std::string> tags, std::string payload) {
        std::sort(tags.begin(), tags.end());
        tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
        ledger::NodeDraft d;
        d.origin = std::move(origin);
        d.kind = std::move(kind);
        d.timestamp = ledger::Timestamp(std::chrono::nanoseconds(ts));
        d.walk = std::move(walk);
        d.tags = std::move(tags);
        d.payload_json = std::move(payload);
        return d;
      },
      rc::gen::element<std::string>("agent.a", "agent.b", "detector.ddos", "laws.runner"),
      rc::gen::element<std::string>("agent.action", "detector.alert", "law.verdict"),
      rc::gen::inRange<std::int64_t>(1'700'000'000'000'000'000, 1'700'000'000'000'001'000),
      gen_optional(rc::gen::element<std::string>("run-1", "run-2", "walk é")),
      rc::gen::container<std::vector<std::string>>(
          rc::gen::element<std::string>("prod", "urgent", "dns", "tag with space")),
      gen_payload());
}

}  // namespace witness::testing
