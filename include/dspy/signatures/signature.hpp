#pragma once
/// @file
/// Signatures: typed input and output fields plus instructions, built from DSPy's string grammar
/// ("question, context: list[str] -> answer: int").

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dspy/json.hpp"

namespace dspy {

/// A field's type annotation, as DSPy's string grammar resolves it. @sa typing annotations in dspy.Signature
struct TypeSpec {
    /// What kind of annotation this is.
    enum class Kind {
        Str, Int, Float, Bool, Any, None,  // scalars (`None` is NoneType)
        List, Dict, Tuple, Set, FrozenSet,  // generics; args hold the parameters (empty when bare)
        Literal,                            // literals hold the allowed values
        Union,                              // Optional[T] is Union[T, None]; pep604 marks `A | B`
        History,                            // dspy.History
        Other                               // any other resolvable name (bytes, complex, ...): name holds it
    };
    Kind kind = Kind::Str;
    std::vector<TypeSpec> args;
    std::vector<Json> literals;
    bool pep604 = false;      ///< spelled `A | B` (renders `UnionType[...]` as CPython 3.11 does)
    bool ellipsis = false;    ///< `tuple[int, ...]`
    std::string name;         ///< for Kind::Other, the Python name

    /// Parses a type expression in DSPy's grammar (`Optional[list[str]]`, `int | None`, `Literal['a', 1]`).
    /// @throws SignatureError naming the unknown or malformed part.
    static TypeSpec parse(std::string_view text);

    /// `get_annotation_name`: how prompts show the type (`list[str]`, `Union[int, NoneType]`).
    [[nodiscard]] std::string render() const;
    /// Whether `None` is an accepted value (Optional, a Union with None, None itself, Any).
    [[nodiscard]] bool admits_none() const;
    /// pydantic's JSON schema for the type, keys ordered the way DSPy prints them in prompts ("type" first, then
    /// sorted). @sa pydantic.TypeAdapter(T).json_schema()
    [[nodiscard]] Json json_schema() const;

    static TypeSpec str() { return {}; }
    friend bool operator==(const TypeSpec&, const TypeSpec&) = default;
};

/// One input or output field. @sa dspy.InputField / dspy.OutputField
struct Field {
    std::string name;
    bool is_input = true;
    TypeSpec type;
    /// Raw description; DSPy's default is `${name}`, which renders as an empty description.
    std::string desc;
    /// The inferred (or given) prefix, e.g. `Question:`. Saved in programs; no adapter uses it.
    std::string prefix;
    /// True when the field had no annotation (suppresses DSPy's type-mismatch warning).
    bool type_undefined = false;
    /// Human-readable constraints (`greater than: 0, ...`); empty when none.
    std::string constraints;

    /// An input field with DSPy's defaults (prefix inferred, desc `${name}`).
    static Field input(std::string name, TypeSpec type = {}, std::string desc = {});
    /// An output field with DSPy's defaults.
    static Field output(std::string name, TypeSpec type = {}, std::string desc = {});
    /// Whether the description is DSPy's placeholder `${name}`.
    [[nodiscard]] bool has_default_desc() const { return desc == "${" + name + "}"; }
    friend bool operator==(const Field&, const Field&) = default;
};

/// `infer_prefix`: `someAttributeName42IsCool` -> `Some Attribute Name 42 Is Cool`. @sa dspy.signatures.signature.infer_prefix
std::string infer_prefix(std::string_view name);

/// An immutable signature: fields (inputs first, then outputs, each in declaration order) and instructions.
/// Every modifier returns a new Signature. Cheap to copy (the fields are shared).
/// @sa dspy.Signature
class Signature {
public:
    /// Parses `"a, b: int -> c: list[str]"`; empty instructions mean DSPy's default ones.
    /// @throws SignatureError naming the offending part.
    Signature(std::string_view spec, std::string_view instructions = {});
    Signature(const char* spec) : Signature(std::string_view(spec)) {}
    Signature(const std::string& spec) : Signature(std::string_view(spec)) {}
    /// Builds from explicit fields (any order of inputs/outputs; stored inputs first).
    /// @sa dspy.make_signature
    static Signature from_fields(std::vector<Field> fields, std::string_view instructions = {});

    /// The instructions after `inspect.cleandoc`, or the default `Given the fields ...` text.
    [[nodiscard]] const std::string& instructions() const;
    /// All fields: inputs then outputs.
    [[nodiscard]] const std::vector<Field>& fields() const;
    /// Input fields in order. Cached: the reference and pointers stay valid while this Signature (or a copy of
    /// it) lives.
    [[nodiscard]] const std::vector<const Field*>& input_fields() const;
    /// Output fields in order (cached, like input_fields()).
    [[nodiscard]] const std::vector<const Field*>& output_fields() const;
    /// The input fields as a contiguous view of fields() (no allocation). @sa Signature.input_fields
    [[nodiscard]] std::span<const Field> inputs() const;
    /// The output fields as a contiguous view of fields(). @sa Signature.output_fields
    [[nodiscard]] std::span<const Field> outputs() const;
    /// Number of input fields (fields()[0 .. n_inputs) are the inputs).
    [[nodiscard]] size_t n_inputs() const;
    /// The field of that name, or nullptr.
    [[nodiscard]] const Field* field(std::string_view name) const;
    /// `"a, b -> c"`. @sa Signature.signature
    [[nodiscard]] const std::string& signature_string() const;

    /// @sa Signature.with_instructions
    [[nodiscard]] Signature with_instructions(std::string_view instructions) const;
    /// Same fields, `old + "\n\n" + more`. @sa Signature.append_instructions
    [[nodiscard]] Signature append_instructions(std::string_view more) const;
    /// Inserts at `index` among the inputs or outputs (by `field.is_input`); negative counts from the end
    /// (-1 = append). @throws ValueError with DSPy's message when out of range. @sa Signature.insert
    [[nodiscard]] Signature insert(int index, Field field) const;
    /// @sa Signature.prepend
    [[nodiscard]] Signature prepend(Field field) const;
    /// @sa Signature.append
    [[nodiscard]] Signature append(Field field) const;
    /// Removes the field if present. @sa Signature.delete
    [[nodiscard]] Signature remove(std::string_view name) const;
    /// Replaces one field's description/prefix/type. @sa Signature.with_updated_fields
    [[nodiscard]] Signature with_updated_field(std::string_view name, std::optional<std::string> desc,
                                               std::optional<std::string> prefix = std::nullopt,
                                               std::optional<TypeSpec> type = std::nullopt) const;

    /// `{"instructions", "fields": [{"prefix", "description"}]}`. @sa Signature.dump_state
    [[nodiscard]] Json dump_state() const;
    /// Sets instructions and zips prefix/description onto the fields by position. @sa Signature.load_state
    [[nodiscard]] Signature load_state(const Json& state) const;

    /// Same instructions and fields. @sa Signature.equals
    friend bool operator==(const Signature& a, const Signature& b);

private:
    struct Data;
    explicit Signature(std::shared_ptr<const Data> d) : d_(std::move(d)) {}
    std::shared_ptr<const Data> d_;
};

}  // namespace dspy
