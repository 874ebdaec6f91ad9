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
    /// Kind::Other: the Python name. Otherwise a spelling detail that changes only how Python prints the type:
    /// an unsubscripted typing alias inside another type (`list[List]` prints `list[list[]]`) holds its name,
    /// `tuple[()]` holds `()`, and a `None` argument of a builtin generic (`list[None]`) holds `None`.
    std::string name;

    /// Parses a type expression in DSPy's grammar (`Optional[list[str]]`, `int | None`, `Literal['a', 1]`,
    /// `typing.List[int]`, `dspy.History`, `tuple[int, ...]`). `A | B` becomes `Union[A, B]` as DSPy rebuilds it.
    /// Standalone, `None` is NoneType and signed numbers are allowed in `Literal[-1]` (a Python annotation
    /// allows them; DSPy's string signatures do not, and Signature("...") still rejects them).
    /// Unsupported typing forms (Sequence, Callable, Annotated, ...) are errors.
    /// @throws SignatureError naming the unknown or malformed part ("Unknown name: X").
    /// @sa dspy.signatures.signature._parse_type_node
    static TypeSpec parse(std::string_view text);

    /// `get_annotation_name`: how prompts show the type (`list[str]`, `Union[int, NoneType]`,
    /// `Literal["it's", 'b']`, `tuple[int, Ellipsis]`, `History`). @sa dspy.adapters.utils.get_annotation_name
    [[nodiscard]] std::string render() const;
    /// Whether `None` is an accepted value (Optional, a Union with None, None itself, Any, Literal[None]).
    [[nodiscard]] bool admits_none() const;
    /// pydantic's JSON schema for the type, keys ordered the way DSPy prints them in prompts ("type" first, then
    /// sorted; a nullable union lists `{"type": "null"}` last). @sa dspy.adapters.utils._get_json_schema
    [[nodiscard]] Json json_schema() const;

    /// The default annotation, `str`.
    static TypeSpec str() { return {}; }
    friend bool operator==(const TypeSpec&, const TypeSpec&) = default;
};

/// One input or output field. @sa dspy.InputField / dspy.OutputField
struct Field {
    /// A Python identifier without a leading underscore.
    std::string name;
    /// InputField (true) or OutputField (false).
    bool is_input = true;
    /// The annotation; `str` when none was given.
    TypeSpec type;
    /// Raw description; DSPy's default is `${name}`, which renders as an empty description.
    std::string desc;
    /// The inferred (or given) prefix, e.g. `Question:`. Saved in programs; no adapter uses it.
    std::string prefix;
    /// True for an input field written without an annotation in a string signature (suppresses DSPy's
    /// type-mismatch warning). DSPy never sets it on string-signature outputs.
    bool type_undefined = false;
    /// Human-readable constraints (`greater than: 0, ...`); empty when none.
    std::string constraints;
    /// An input's default value, filled in by Predict when a call leaves the field out (pydantic's
    /// `InputField(default=...)`); unset means required. Not part of saved state or prompts' field descriptions.
    std::optional<Json> default_value{};

    /// An input field with DSPy's defaults (prefix `infer_prefix(name) + ":"`, desc `${name}` when `desc` is
    /// empty). @sa dspy.InputField
    static Field input(std::string name, TypeSpec type = {}, std::string desc = {});
    /// An output field with DSPy's defaults. @sa dspy.OutputField
    static Field output(std::string name, TypeSpec type = {}, std::string desc = {});
    /// Whether the description is DSPy's placeholder `${name}`.
    [[nodiscard]] bool has_default_desc() const {
        // called per field on every prompt: compare in place rather than building "${name}"
        return desc.size() == name.size() + 3 && desc.compare(0, 2, "${") == 0 && desc.back() == '}' &&
               desc.compare(2, name.size(), name) == 0;
    }
    /// Member-wise equality (unlike Signature's, which follows Signature.equals).
    friend bool operator==(const Field&, const Field&) = default;
};

/// `infer_prefix`: `someAttributeName42IsCool` -> `Some Attribute Name 42 Is Cool`. @sa dspy.signatures.signature.infer_prefix
std::string infer_prefix(std::string_view name);

/// An immutable signature: fields (inputs first, then outputs, each in declaration order) and instructions.
/// Every modifier returns a new Signature. Cheap to copy (the fields are shared).
/// @sa dspy.Signature
class Signature {
public:
    /// Parses `"a, b: int -> c: list[str]"` the way DSPy does (`ast.parse(f"def f({side}): pass")` per side):
    /// exactly one `->`; Python identifiers; `name: Type`; defaults parsed and ignored; `*args`, keyword-only,
    /// positional-only and `**kwargs` parameters dropped; duplicates within a side merged; a name on both sides
    /// or a leading underscore rejected. Empty instructions mean DSPy's default ones.
    /// @throws SignatureError naming the offending part. @sa dspy.Signature("...") / make_signature
    Signature(std::string_view spec, std::string_view instructions = {});
    /// @sa Signature(std::string_view, std::string_view)
    Signature(const char* spec) : Signature(std::string_view(spec)) {}
    /// @sa Signature(std::string_view, std::string_view)
    Signature(const std::string& spec) : Signature(std::string_view(spec)) {}
    /// Builds from explicit fields (any order of inputs/outputs; stored inputs first). Empty prefix/desc get
    /// DSPy's defaults; a repeated name keeps its first position and its last definition (Python dict rules).
    /// @throws SignatureError for an empty name or one with a leading underscore. @sa dspy.make_signature
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

    /// Same fields, new instructions (empty means the default text). @sa Signature.with_instructions
    [[nodiscard]] Signature with_instructions(std::string_view instructions) const;
    /// Same fields, instructions `cleandoc(old + "\n\n" + more)`. @sa Signature.append_instructions
    [[nodiscard]] Signature append_instructions(std::string_view more) const;
    /// Inserts at `index` among the inputs or outputs (by `field.is_input`); negative counts from the end
    /// (-1 = append). A name already present keeps its old position and definition unless the kinds differ, as
    /// dict(inputs + outputs) does in DSPy. @throws ValueError with DSPy's message when out of range.
    /// @sa Signature.insert
    [[nodiscard]] Signature insert(int index, Field field) const;
    /// insert(0, field). @sa Signature.prepend
    [[nodiscard]] Signature prepend(Field field) const;
    /// insert(-1, field). @sa Signature.append
    [[nodiscard]] Signature append(Field field) const;
    /// Removes the field if present. @sa Signature.delete
    [[nodiscard]] Signature remove(std::string_view name) const;
    /// Replaces one field's description/prefix/type. @throws KeyError when there is no such field.
    /// @sa Signature.with_updated_fields
    [[nodiscard]] Signature with_updated_field(std::string_view name, std::optional<std::string> desc,
                                               std::optional<std::string> prefix = std::nullopt,
                                               std::optional<TypeSpec> type = std::nullopt) const;

    /// `{"instructions", "fields": [{"prefix", "description"}]}`. @sa Signature.dump_state
    [[nodiscard]] Json dump_state() const;
    /// Sets instructions (cleandoc'd; "" stays "") and zips prefix/description onto the fields by position,
    /// stopping at the shorter list. @throws KeyError for a missing key, TypeError for a non-string value.
    /// @sa Signature.load_state
    [[nodiscard]] Signature load_state(const Json& state) const;

    /// Signature.equals: same instructions, same field names, and per name the same kind, desc, prefix,
    /// type_undefined and constraints. Annotations and field order are not compared (as in DSPy).
    /// @sa Signature.equals
    friend bool operator==(const Signature& a, const Signature& b);

private:
    struct Data;
    explicit Signature(std::shared_ptr<const Data> d) : d_(std::move(d)) {}
    std::shared_ptr<const Data> d_;
};

}  // namespace dspy
