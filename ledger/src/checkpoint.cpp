#include "witness/ledger/checkpoint.hpp"

#include <algorithm>
#include <charconv>

#include "witness/base/utf8.hpp"

#include "base64.hpp"
#include "hex.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace {

constexpr std::string_view kSignaturePrefix = "\xe2\x80\x94 ";  // em dash (U+2014), space
constexpr std::uint8_t kEd25519Type = 0x01;
// At most this many signature lines in a note (the spec asks for at least 16; Go's note package
// allows 100).
constexpr std::size_t kMaxNoteSignatures = 100;

std::array<std::uint8_t, 4> key_id(std::string_view name, const PublicKey& key) {
  crypto::Sha256 h;
  h.update(name);
  h.update(std::string_view("\n"));
  const std::array<std::uint8_t, 1> type = {kEd25519Type};
  h.update(std::span<const std::uint8_t>(type));
  h.update(std::span<const std::uint8_t>(key));
  const Digest d{h.finish()};
  return {d.bytes[0], d.bytes[1], d.bytes[2], d.bytes[3]};
}

std::string hex8(const std::array<std::uint8_t, 4>& id) { return detail::hex_encode(id); }

struct ParsedNote {
  std::string_view text;  // including its final newline
  std::vector<std::pair<std::string_view, std::string_view>> signatures;  // (name, base64)
};

Result<ParsedNote> split_note(std::string_view note) {
  // C2SP signed-note: valid UTF-8 with no control character but newline; key names non-empty,
  // without spaces or '+'; a limit on signatures (at least 16 must be accepted); and, as Go's
  // golang.org/x/mod/sumdb/note does, one signature per key (name and key id).
  if (const auto bad = first_invalid_utf8(note)) {
    return invalid_argument("note: invalid UTF-8 at byte " + std::to_string(*bad));
  }
  for (const char c : note) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
      return invalid_argument("note: control character");
    }
  }
  const auto sep = note.rfind("\n\n");
  if (sep == std::string_view::npos) {
    return invalid_argument("note: no blank line before signatures");
  }
  ParsedNote out;
  out.text = note.substr(0, sep + 1);
  std::string_view rest = note.substr(sep + 2);
  std::vector<std::string> keys;  // name and key id of each signature so far
  if (rest.empty() || rest.back() != '\n') {
    return invalid_argument("note: signatures must end in a newline");
  }
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (!line.starts_with(kSignaturePrefix)) {
      return invalid_argument("note: malformed signature line");
    }
    line.remove_prefix(kSignaturePrefix.size());
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) {
      return invalid_argument("note: malformed signature line");
    }
    const std::string_view name = line.substr(0, sp);
    const std::string_view sig = line.substr(sp + 1);
    if (name.find('+') != std::string_view::npos || sig.find(' ') != std::string_view::npos) {
      return invalid_argument("note: malformed signature line (a key name has no '+' or space)");
    }
    if (out.signatures.size() == kMaxNoteSignatures) {
      return invalid_argument("note: more than " + std::to_string(kMaxNoteSignatures) +
                              " signatures");
    }
    // The key id is the signature's first 4 bytes.
    auto blob = detail::base64_decode(sig);
    if (!blob || blob->size() < 4) {
      return invalid_argument("note: a signature is not base64 of a key id and signature");
    }
    const std::string key =
        std::string(name) + '\n' + std::string(blob->begin(), blob->begin() + 4);
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      return invalid_argument("note: two signatures by the key " + std::string(name) +
                              " (one per key)");
    }
    keys.push_back(key);
    out.signatures.emplace_back(name, sig);
  }
  return out;
}

}  // namespace

std::string checkpoint_text(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" + detail::base64_encode(c.root.bytes) +
         "\n";
}

std::string sign_checkpoint(const Checkpoint& checkpoint, const SigningKey& key,
                            std::string_view key_name) {
  const std::string text = checkpoint_text(checkpoint);
  const Signature sig = key.sign(text);
  const auto id = key_id(key_name, key.public_key());
  std::vector<std::uint8_t> blob(id.begin(), id.end());
  blob.insert(blob.end(), sig.begin(), sig.end());
  return text + "\n" + std::string(kSignaturePrefix) + std::string(key_name) + " " +
         detail::base64_encode(blob) + "\n";
}

std::string verifier_key(std::string_view key_name, const PublicKey& key) {
  std::vector<std::uint8_t> blob{kEd25519Type};
  blob.insert(blob.end(), key.begin(), key.end());
  return std::string(key_name) + "+" + hex8(key_id(key_name, key)) + "+" +
         detail::base64_encode(blob);
}

Result<Checkpoint> parse_checkpoint(std::string_view note) {
  WITNESS_ASSIGN_OR_RETURN(ParsedNote parsed, split_note(note));
  std::string_view text = parsed.text;
  const auto next_line = [&](std::string_view what) -> Result<std::string_view> {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return invalid_argument("checkpoint: missing " + std::string(what));
    }
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    return line;
  };
  Checkpoint c;
  WITNESS_ASSIGN_OR_RETURN(std::string_view origin, next_line("origin line"));
  if (origin.empty()) return invalid_argument("checkpoint: empty origin line");
  c.origin = std::string(origin);
  WITNESS_ASSIGN_OR_RETURN(std::string_view size, next_line("tree size line"));
  const auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (size.empty() || ec != std::errc() || ptr != size.data() + size.size() ||
      (size.size() > 1 && size[0] == '0')) {
    return invalid_argument("checkpoint: tree size \"" + std::string(size) +
                            "\" is not a decimal number");
  }
  WITNESS_ASSIGN_OR_RETURN(std::string_view root, next_line("root hash line"));
  auto bytes = detail::base64_decode(root);
  if (!bytes || bytes->size() != Digest::kSize) {
    return invalid_argument("checkpoint: root hash is not 32 bytes of base64");
  }
  std::copy(bytes->begin(), bytes->end(), c.root.bytes.begin());
  return c;  // extension lines, if any, are signed but carry nothing witness reads
}

Result<VerifierKey> parse_verifier_key(std::string_view verifier) {
  // name+hex8+base64(0x01 || key).
  const auto p1 = verifier.find('+');
  const auto p2 = p1 == std::string_view::npos ? p1 : verifier.find('+', p1 + 1);
  if (p1 == std::string_view::npos || p2 == std::string_view::npos || p1 == 0) {
    return invalid_argument("public key: expected <name>+<key id>+<base64 key>");
  }
  VerifierKey out;
  out.name = std::string(verifier.substr(0, p1));
  const std::string_view id_hex = verifier.substr(p1 + 1, p2 - p1 - 1);
  auto key_blob = detail::base64_decode(verifier.substr(p2 + 1));
  if (!key_blob || key_blob->size() != 33 || (*key_blob)[0] != kEd25519Type) {
    return invalid_argument("public key: not an Ed25519 verifier key");
  }
  std::copy(key_blob->begin() + 1, key_blob->end(), out.key.begin());
  out.id = key_id(out.name, out.key);
  if (id_hex != hex8(out.id)) return invalid_argument("public key: key id does not match the key");
  return out;
}

Result<Checkpoint> verify_checkpoint(std::string_view note, std::string_view verifier) {
  WITNESS_ASSIGN_OR_RETURN(VerifierKey vk, parse_verifier_key(verifier));
  const std::string_view name = vk.name;
  const PublicKey& key = vk.key;
  const auto& id = vk.id;
  const std::string id_hex = hex8(id);

  WITNESS_ASSIGN_OR_RETURN(Checkpoint c, parse_checkpoint(note));
  WITNESS_ASSIGN_OR_RETURN(ParsedNote parsed, split_note(note));
  for (const auto& [sig_name, b64] : parsed.signatures) {
    if (sig_name != name) continue;
    auto blob = detail::base64_decode(b64);
    if (!blob || blob->size() != 4 + 64) continue;
    if (!std::equal(id.begin(), id.end(), blob->begin())) continue;  // another key of that name
    Signature sig{};
    std::copy(blob->begin() + 4, blob->end(), sig.begin());
    if (!verify_signature(key, parsed.text, sig)) {
      return corruption("checkpoint: signature by " + std::string(name) + " does not verify");
    }
    return c;
  }
  return corruption("checkpoint: no signature by " + std::string(name) + " (key id " +
                    std::string(id_hex) + ")");
}

Result<std::string> merge_signatures(std::span<const std::string> notes) {
  if (notes.empty()) return invalid_argument("merge: no notes");
  std::string text;
  std::vector<std::string> lines;
  std::vector<std::string> keys;  // name and key id of each line
  for (const std::string& note : notes) {
    WITNESS_ASSIGN_OR_RETURN(ParsedNote parsed, split_note(note));
    if (text.empty()) {
      text = parsed.text;
    } else if (parsed.text != text) {
      return invalid_argument("merge: the notes state different checkpoints:\n" + text + "and\n" +
                              std::string(parsed.text));
    }
    for (const auto& [name, b64] : parsed.signatures) {
      const auto blob = detail::base64_decode(b64);  // split_note checked it has a key id
      std::string key = std::string(name) + '\n' + std::string(blob->begin(), blob->begin() + 4);
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;  // one per key
      keys.push_back(std::move(key));
      lines.push_back(std::string(kSignaturePrefix) + std::string(name) + " " + std::string(b64));
    }
  }
  if (lines.size() > kMaxNoteSignatures) {
    return invalid_argument("merge: more than " + std::to_string(kMaxNoteSignatures) +
                            " signatures");
  }
  std::string out = text + "\n";
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Result<QuorumCheck> verify_checkpoint_quorum(std::string_view note,
                                             std::span<const std::string> verifiers,
                                             std::size_t quorum) {
  std::vector<VerifierKey> keys;
  for (const auto& v : verifiers) {
    WITNESS_ASSIGN_OR_RETURN(VerifierKey k, parse_verifier_key(v));
    const bool seen = std::any_of(keys.begin(), keys.end(), [&](const VerifierKey& o) {
      return o.name == k.name && o.key == k.key;
    });
    if (!seen) keys.push_back(std::move(k));
  }
  if (quorum == 0 || quorum > keys.size()) {
    return invalid_argument("quorum " + std::to_string(quorum) + ": expected 1 to the " +
                            std::to_string(keys.size()) + " distinct verifier key(s) given");
  }
  WITNESS_ASSIGN_OR_RETURN(Checkpoint c, parse_checkpoint(note));
  QuorumCheck out{.checkpoint = c, .signers = {}};
  std::string missing;
  for (const auto& k : keys) {
    if (verify_checkpoint(note, verifier_key(k.name, k.key))) {
      out.signers.push_back(k.name);
    } else {
      missing += (missing.empty() ? "" : ", ") + k.name;
    }
  }
  if (out.signers.size() < quorum) {
    std::string signers;
    for (const auto& n : out.signers) signers += (signers.empty() ? "" : ", ") + n;
    return corruption("checkpoint: " + std::to_string(out.signers.size()) +
                      " valid signature(s) (" + (signers.empty() ? "none" : signers) +
                      "), the quorum is " + std::to_string(quorum) + "; not signed validly by " +
                      missing);
  }
  return out;
}

}  // namespace witness::ledger
