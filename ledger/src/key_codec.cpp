#include "key_codec.hpp"

#include "format.hpp"

namespace witness::ledger::detail {

std::string seq_key(char prefix, SequenceNumber seq) {
  std::string k;
  k.reserve(9);
  k.push_back(prefix);
  put_be64(seq, k);
  return k;
}

std::string id_key(const NodeId& id) {
  std::string k;
  k.reserve(1 + Digest::kSize);
  k.push_back(format::kById);
  k.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());  // NOLINT
  return k;
}

void term_prefix_into(char prefix, std::string_view term, std::string& out) {
  out.clear();
  out.push_back(prefix);
  put_be16(static_cast<std::uint16_t>(term.size()), out);
  out.append(term);
}

std::string term_prefix(char prefix, std::string_view term) {
  std::string k;
  k.reserve(3 + term.size() + 8);
  term_prefix_into(prefix, term, k);
  return k;
}

std::string term_key(char prefix, std::string_view term, SequenceNumber seq) {
  std::string k = term_prefix(prefix, term);
  put_be64(seq, k);
  return k;
}

std::string time_key(Timestamp ts, SequenceNumber seq) {
  std::string k;
  k.reserve(17);
  k.push_back(format::kByTime);
  put_be64(order_preserving(ts.time_since_epoch().count()), k);
  put_be64(seq, k);
  return k;
}

std::string link_prefix(const NodeId& target) {
  std::string k;
  k.reserve(1 + Digest::kSize + 9);
  k.push_back(format::kByLinkTarget);
  k.append(reinterpret_cast<const char*>(target.bytes.data()), target.bytes.size());  // NOLINT
  return k;
}

std::string link_key(const NodeId& target, SequenceNumber seq, LinkRelation rel) {
  std::string k = link_prefix(target);
  put_be64(seq, k);
  k.push_back(static_cast<char>(rel));
  return k;
}

SequenceNumber trailing_seq(std::string_view key) { return get_be64(key.substr(key.size() - 8)); }

}  // namespace witness::ledger::detail
