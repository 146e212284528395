// The ledger as an Appender (appender.hpp), and the refusal message every front end prints.
#include "witness/ledger/appender.hpp"

#include <utility>

namespace witness::ledger {

std::string Appended::refusal_message() const {
  if (!refused()) return "";
  if (refusal_seq) {
    return refusal + " (covenant.denial at seq " + std::to_string(*refusal_seq) + ")";
  }
  return refusal +
         " (not recorded one by one: its subject is over the bound of denial records; counted "
         "in the next one)";
}

namespace {

class PlainAppender final : public Appender {
 public:
  PlainAppender(Ledger& ledger, AppendOptions options) : ledger_(&ledger), options_(options) {}

  Result<Appended> append(const TraceNode& node) override {
    WITNESS_ASSIGN_OR_RETURN(AppendResult r, ledger_->append(node, options_));
    return Appended{.outcome = AppendOutcome::kAppended, .result = r};
  }
  Result<std::vector<Appended>> append_batch(std::span<const TraceNode> nodes,
                                             BatchMode /*mode: nothing is refused*/) override {
    WITNESS_ASSIGN_OR_RETURN(auto results, ledger_->append_batch(nodes, options_));
    std::vector<Appended> out;
    out.reserve(results.size());
    for (const AppendResult& r : results) {
      out.push_back(Appended{.outcome = AppendOutcome::kAppended, .result = r});
    }
    return out;
  }
  [[nodiscard]] const Ledger& ledger() const override { return *ledger_; }
  Status close() override { return ok_status(); }

 private:
  Ledger* ledger_;
  AppendOptions options_;
};

}  // namespace

std::unique_ptr<Appender> plain_appender(Ledger& ledger, AppendOptions options) {
  return std::make_unique<PlainAppender>(ledger, options);
}

}  // namespace witness::ledger
