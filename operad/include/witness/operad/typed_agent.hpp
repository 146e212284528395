// Compile-time typed agent pipelines (SPEC 4.2a): an Agent<B(A1, ..., An)> takes n inputs of
// the C++ types A1..An and returns a B; graft<I>(f, g) plugs g's output into f's input I.
// An ill-typed graft does not compile:
//
//   Agent<int(int, std::string)> f = ...;
//   Agent<std::string(double)> g = ...;
//   auto h = graft<1>(f, g);  // Agent<int(int, double)>
//   graft<0>(f, g);           // error: the plugged agent's output type differs from the input
//
// Pipelines whose types are only known at run time are witness/operad/pipeline.hpp.
#pragma once

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace witness::operad {

template <typename Signature>
class Agent;

// An agent with inputs A... and output B; a callable value.
// Thread safety: const methods may be called concurrently if the wrapped callable allows it.
template <typename B, typename... A>
class Agent<B(A...)> {
 public:
  using Output = B;
  using Inputs = std::tuple<A...>;
  static constexpr std::size_t kArity = sizeof...(A);

  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, Agent> &&
           std::is_invocable_r_v<B, const F&, const A&...>) explicit Agent(F f)
      : fn_(std::move(f)) {}

  B operator()(const A&... inputs) const { return fn_(inputs...); }

 private:
  std::function<B(const A&...)> fn_;
};

// The identity agent on T.
template <typename T>
[[nodiscard]] Agent<T(T)> identity_agent() {
  return Agent<T(T)>([](const T& x) { return x; });
}

namespace detail {

template <typename... T>
struct TypeList {};

template <typename L1, typename L2>
struct Concat;
template <typename... T, typename... U>
struct Concat<TypeList<T...>, TypeList<U...>> {
  using type = TypeList<T..., U...>;
};

// The first N types of a list, and the rest.
template <std::size_t N, typename L, typename Acc = TypeList<>>
struct SplitAt;
template <typename Rest, typename Acc>
struct SplitAt<0, Rest, Acc> {
  using head = Acc;
  using tail = Rest;
};
template <std::size_t N, typename T, typename... Ts, typename... Acc>
requires(N > 0) struct SplitAt<N, TypeList<T, Ts...>, TypeList<Acc...>>
    : SplitAt<N - 1, TypeList<Ts...>, TypeList<Acc..., T>> {
};

template <typename B, typename L>
struct AgentOf;
template <typename B, typename... A>
struct AgentOf<B, TypeList<A...>> {
  using type = Agent<B(A...)>;
};

template <std::size_t I, typename... A>
using InputAt = std::tuple_element_t<I, std::tuple<A...>>;

// The inputs of f o_I g: f's inputs before I, g's inputs, f's inputs after I.
template <std::size_t I, typename B, typename FInputs, typename GInputs>
struct GraftType;
template <std::size_t I, typename B, typename... A, typename... D>
struct GraftType<I, B, TypeList<A...>, TypeList<D...>> {
  using split = SplitAt<I, TypeList<A...>>;
  using after = typename SplitAt<1, typename split::tail>::tail;
  using inputs =
      typename Concat<typename Concat<typename split::head, TypeList<D...>>::type, after>::type;
  using type = typename AgentOf<B, inputs>::type;
};

template <std::size_t I, std::size_t M, typename F, typename G, typename Tuple, std::size_t... Pre,
          std::size_t... Mid, std::size_t... Post>
decltype(auto) call_grafted(const F& f, const G& g, const Tuple& args,
                            std::index_sequence<Pre...> /*pre*/,
                            std::index_sequence<Mid...> /*mid*/,
                            std::index_sequence<Post...> /*post*/) {
  return f(std::get<Pre>(args)..., g(std::get<I + Mid>(args)...), std::get<I + M + Post>(args)...);
}

}  // namespace detail

// True when g's output type is the type of f's input I (and I is an input of f).
template <std::size_t I, typename F, typename G>
inline constexpr bool kCanGraft = false;
template <std::size_t I, typename B, typename... A, typename C, typename... D>
inline constexpr bool kCanGraft<I, Agent<B(A...)>, Agent<C(D...)>> = [] {
  if constexpr (I < sizeof...(A)) {
    return std::is_same_v<detail::InputAt<I, A...>, C>;
  } else {
    return false;
  }
}();

// Plugs g's output into f's input I: the result takes f's inputs before I, then g's inputs,
// then f's inputs after I. Compile error when I is not an input of f or the types differ.
template <std::size_t I, typename B, typename... A, typename C, typename... D>
[[nodiscard]] auto graft(const Agent<B(A...)>& f, const Agent<C(D...)>& g) {
  static_assert(I < sizeof...(A), "graft: input index out of range for the receiving agent");
  if constexpr (I < sizeof...(A)) {
    static_assert(std::is_same_v<detail::InputAt<I, A...>, C>,
                  "graft: the plugged agent's output type differs from the input it fills");
    using Result =
        typename detail::GraftType<I, B, detail::TypeList<A...>, detail::TypeList<D...>>::type;
    constexpr std::size_t kM = sizeof...(D);
    constexpr std::size_t kPost = sizeof...(A) - I - 1;
    return Result([f, g](const auto&... args) -> B {
      return detail::call_grafted<I, kM>(
          f, g, std::forward_as_tuple(args...), std::make_index_sequence<I>{},
          std::make_index_sequence<kM>{}, std::make_index_sequence<kPost>{});
    });
  }
}

}  // namespace witness::operad
