# Warnings for our own targets only (never forced onto a consumer of the installed package).
function(dspy_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  # g++-12 warns about every designated initialiser that leaves members to their defaults, which is exactly the
  # options-struct style of the API (`dspy::LM("...", {.temperature = 0.2})`); clang does not.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-missing-field-initializers)
  endif()
  if(DSPY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# For a target built in batches (UNITY_BUILD): g++ treats every .cpp after the first in a batch like a header, so
# a TEST fixture or lambda from a file's anonymous namespace "has internal linkage in a header"
# (-Wsubobject-linkage). The batch is still one TU that no other TU sees, so there is nothing for it to guard.
function(dspy_unity_warnings target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()
